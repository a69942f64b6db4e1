/**
 * Errors on the wire are RFC 9457 problem documents (`application/problem+json`).
 * `type` is a stable URN per error code, so clients branch on it rather than on `title` text.
 */
export const ERROR_CODES = [
  'validation_error',
  'invalid_json',
  'unsupported_media_type',
  'unauthorized',
  'not_found',
  'payload_too_large',
  'headers_too_large',
  'request_timeout',
  'not_cancelable',
  'audio_not_ready',
  'rate_limited',
  'quota_exceeded',
  'idempotency_key_reused',
  'idempotency_key_in_use',
  'service_unavailable',
  'internal_error',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** One bad field of a request: dotted path (`seconds_total`, `query.limit`) and what is allowed. */
export interface FieldError {
  field: string;
  message: string;
  /** For a batch: the 1-based row (data row of a CSV, line of a JSONL, index + 1 of `items`). */
  row?: number;
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** The error code `type` ends with, repeated so clients need not parse the URN. */
  code?: ErrorCode;
  /** Present on validation problems: every bad field, never only the first. */
  errors?: FieldError[];
  instance?: string;
}

export function problemType(code: ErrorCode): string {
  return `urn:chorus:problem:${code}`;
}

/** Checks the parts of a problem document every Chorus error carries. */
export function isProblemDocument(value: unknown): value is ProblemDocument {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return typeof candidate.type === 'string' && typeof candidate.title === 'string' && typeof candidate.status === 'number';
}
