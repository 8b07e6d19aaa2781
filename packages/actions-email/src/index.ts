export type { AddressInput, EmailAddress } from './address.js'
export type { EmailActions } from './email-actions.js'
export { emailActions } from './email-actions.js'
export type { EmailDeliveryErrorDetails, EmailProvider } from './errors.js'
export { EmailDeliveryError } from './errors.js'
export { DEFAULT_ALLOWED_HEADERS } from './headers.js'
export type {
  DevTransportOptions,
  EmailActionsOptions,
  EmailTransportOptions,
  PostmarkTransportOptions,
  ResendTransportOptions,
  SmtpTransportOptions,
} from './options.js'
export type { ParsedSendEmailInput, SendEmailInput, SendEmailOutput } from './schema.js'
export { sendEmailOutputSchema } from './schema.js'
