import type { ZodType } from 'zod'
import { ValidationError, type ValidationIssue } from './errors.js'

/** Parses `value` with `schema` (async refinements allowed); throws a {@link ValidationError} naming `subject`. */
export const parseWith = async <T>(schema: ZodType | undefined, value: unknown, subject: string): Promise<T> => {
  if (!schema) return value as T
  const result = await schema.safeParseAsync(value)
  if (result.success) return result.data as T
  const issues: ValidationIssue[] = result.error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)) as (string | number)[],
    message: i.message,
    code: i.code,
  }))
  throw new ValidationError(subject, issues, { cause: result.error })
}
