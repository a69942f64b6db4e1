import { fieldErrors } from '@chorus/contracts';
import type { z } from 'zod';
import { validationProblem } from '../problem/problem.exception';

/** Parses input with a zod schema or throws a 400 problem naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationProblem(fieldErrors(result.error, prefix));
}
