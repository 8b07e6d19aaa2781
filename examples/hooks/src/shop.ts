import { action, workflow } from '@do-sdk/core'
import { z } from 'zod'

/** What the example actions "send": a stand-in for a payment gateway and a mail API. */
export const outbox: { charges: number[]; emails: string[] } = { charges: [], emails: [] }

export const chargeCard = action.create({
  id: 'payments.charge',
  description: 'Charges a card.',
  input: z.object({ customerId: z.string(), amount: z.number().int().positive() }),
  retry: false,
  execute: async ({ amount }) => {
    outbox.charges.push(amount)
    return { chargeId: `ch_${outbox.charges.length}` }
  },
})

export const sendEmail = action.create({
  id: 'email.send',
  description: 'Sends an email.',
  input: z.object({ to: z.string(), subject: z.string() }),
  retry: false,
  execute: async ({ to, subject }) => {
    outbox.emails.push(`${to}: ${subject}`)
    return { messageId: `msg_${outbox.emails.length}` }
  },
})

/** Charges the customer, then emails a receipt. */
export const checkout = workflow.create({
  id: 'checkout',
  input: z.object({ customerId: z.string(), email: z.string(), amount: z.number().int().positive() }),
  async run({ input, step }) {
    const { chargeId } = await step.run(chargeCard, { customerId: input.customerId, amount: input.amount })
    await step.run(sendEmail, { to: input.email, subject: `Receipt for ${chargeId}` })
    return { chargeId }
  },
})
