import type { ZodType } from 'zod'
import { ValidationError } from './errors.js'

/** Parses `value` with `schema` (async refinements allowed); throws a {@link ValidationError} naming `subject`. */
export const parseWith = async <T>(schema: ZodType | undefined, value: unknown, subject: string): Promise<T> => {
  if (!schema) return value as T
  const result = await schema.safeParseAsync(value)
  if (result.success) return result.data as T
  throw ValidationError.fromZod(subject, result.error)
}
