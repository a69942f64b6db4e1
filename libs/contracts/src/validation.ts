import type { z } from 'zod';
import type { FieldError } from './problem';

/** The message of a key a strict schema does not know. */
export const UNKNOWN_FIELD = 'is not a known field';

/**
 * Turns zod issues into the `errors` of a validation problem: one entry per bad field
 * (an unknown key is its own entry), duplicates dropped.
 */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  const push = (field: string, message: string) => {
    const key = `${field}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ field, message });
  };
  for (const issue of error.issues) {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) push([path, key].filter(Boolean).join('.'), UNKNOWN_FIELD);
    } else if (issue.code === 'invalid_type' && issue.path.length === 0) {
      push(path || 'body', `must be a JSON object`);
    } else {
      push(path || 'body', issue.message);
    }
  }
  return out;
}
