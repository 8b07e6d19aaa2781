export type { HttpActions } from './actions.js'
export { httpActions } from './actions.js'
export type { AddressClass } from './address.js'
export { BlockedAddressError, HttpStatusError, httpStatusOf } from './errors.js'
export type { HttpActionsOptions, HttpAuth, HttpTimeouts, Secret } from './options.js'
export type { ActionRunner, PageableInput, PaginateOptions } from './paginate.js'
export { nextLink, paginate } from './paginate.js'
export { IDEMPOTENT_METHODS, isRetryableStatus, parseRetryAfter } from './retry.js'
export type {
  HttpBodyRequestInput,
  HttpMethod,
  HttpNoBodyRequestInput,
  HttpRequestBody,
  HttpRequestInput,
  HttpResponse,
} from './schema.js'
export { HTTP_METHODS, requestBodySchema, responseSchema } from './schema.js'
