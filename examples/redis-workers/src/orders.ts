// The workflow both workers run: fulfil an order in three steps. Each step is an action with an
// idempotency key (`runId:stepId`), so a step retried after a crash can be deduplicated downstream.
import { action, workflow } from '@do-sdk/core'
import { z } from 'zod'

/** This process's name, recorded by the shipping step so you can see which worker did what. */
export const workerName = process.env.WORKER_NAME ?? `worker-${process.pid}`

/** Simulated latency of each step (a call to a warehouse, a payment provider, a carrier). */
const stepMs = Number(process.env.STEP_MS ?? 50)
const latency = (signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, stepMs)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    })
  })

export const reserveStock = action.create({
  id: 'reserve-stock',
  description: 'Reserves the items of an order in the warehouse.',
  input: z.object({ orderId: z.string(), items: z.number().int().positive() }),
  execute: async ({ orderId, items }, { idempotencyKey, signal }) => {
    await latency(signal)
    return { reservationId: `res-${orderId}-${items}`, idempotencyKey }
  },
})

export const chargeCard = action.create({
  id: 'charge-card',
  description: 'Charges the customer for an order.',
  input: z.object({ orderId: z.string(), amountCents: z.number().int().positive() }),
  retry: { retries: 3, minTimeout: 200 },
  execute: async ({ orderId }, { idempotencyKey, signal }) => {
    await latency(signal)
    // A real payment API takes the key as its Idempotency-Key header: a retried charge is not charged twice.
    return { chargeId: `ch-${orderId}`, idempotencyKey }
  },
})

export const shipOrder = action.create({
  id: 'ship-order',
  description: 'Hands an order to the carrier.',
  input: z.object({ orderId: z.string() }),
  execute: async ({ orderId }, { signal }) => {
    await latency(signal)
    return { trackingId: `trk-${orderId}`, shippedBy: workerName }
  },
})

export const fulfilOrder = workflow.create({
  id: 'fulfil-order',
  input: z.object({ orderId: z.string(), items: z.number().int().positive() }),
  async run({ input, step }) {
    const reservation = await step.run(reserveStock, { orderId: input.orderId, items: input.items })
    const charge = await step.run(chargeCard, { orderId: input.orderId, amountCents: input.items * 1_250 })
    const shipment = await step.run(shipOrder, { orderId: input.orderId })
    return { orderId: input.orderId, reservationId: reservation.reservationId, chargeId: charge.chargeId, ...shipment }
  },
})
