import { action, NonRetryableError, workflow } from '@do-sdk/core'
import { z } from 'zod'

/** The payment gateway: charges an order, or throws when the card is declined. */
export type ChargeFn = (order: { orderId: string; amount: number }) => Promise<{ chargeId: string }>

/** A gateway that declines a share of the charges at random (the demo's "sometimes fails"). */
export const flakyGateway =
  (failureRate: number): ChargeFn =>
  async ({ orderId, amount }) => {
    if (Math.random() < failureRate) throw new NonRetryableError(`Card declined for order ${orderId} (${amount} cents)`)
    return { chargeId: `ch_${orderId}` }
  }

export const orderInput = z.object({
  orderId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  item: z.string().min(1).max(100),
  quantity: z.number().int().min(1).max(100),
})

/**
 * The order workflow: reserve stock, charge the card (which sometimes fails: the run fails, and an
 * admin retries it from the dashboard), wait for the warehouse's `packed` signal (sent from the
 * dashboard's signal form), then mark it shipped.
 */
export const makeOrderWorkflow = (charge: ChargeFn) => {
  const chargeCard = action.create({
    id: 'charge-card',
    description: 'Charges the card of an order through the payment gateway.',
    input: z.object({ orderId: z.string(), amount: z.number().int().positive() }),
    output: z.object({ chargeId: z.string() }),
    // A declined card is not retried in place: the run fails and shows up in the dashboard.
    retry: false,
    execute: (input) => charge(input),
  })
  const fulfilment = workflow.create({
    id: 'order-fulfilment',
    description: 'Reserves stock, charges the card, waits for the warehouse, ships.',
    input: orderInput,
    state: z.object({ stage: z.enum(['new', 'reserved', 'charged', 'packed', 'shipped']) }),
    initialState: () => ({ stage: 'new' }),
    signals: { packed: z.object({ by: z.string().min(1) }) },
    async run({ input, step }) {
      await step.run('reserve-stock', () => ({ reserved: input.quantity }))
      await step.setState({ stage: 'reserved' })
      const { chargeId } = await step.run(chargeCard, { orderId: input.orderId, amount: input.quantity * 1_250 })
      await step.setState({ stage: 'charged' })
      const packed = await step.waitForEvent('packed', { timeout: '1d' })
      await step.setState({ stage: packed ? 'packed' : 'charged' })
      if (!packed) return { orderId: input.orderId, chargeId, shipped: false }
      await step.setState({ stage: 'shipped' })
      return { orderId: input.orderId, chargeId, shipped: true, packedBy: packed.by }
    },
  })
  return { chargeCard, fulfilment }
}

export type OrderWorkflow = ReturnType<typeof makeOrderWorkflow>['fulfilment']
