import { isUtf8 } from 'node:buffer';

/** body-parser's `type` for a body whose bytes are not UTF-8 (problem.filter.ts turns it into a 400). */
export const INVALID_UTF8 = 'encoding.invalid_utf8';

/**
 * body-parser `verify` hook: a body declared (or defaulted) as UTF-8 must be UTF-8. Without it the
 * decoder turns bad bytes into U+FFFD and the text is stored changed, not as given.
 */
export function verifyUtf8(_request: unknown, _response: unknown, body: Buffer, encoding: string | null): void {
  if (encoding !== null && !/^utf-?8$/i.test(encoding)) return;
  if (!isUtf8(body)) throw Object.assign(new Error('the body is not valid UTF-8'), { status: 400, type: INVALID_UTF8 });
}
