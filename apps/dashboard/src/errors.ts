/**
 * Turns anything thrown by the client into words for a person: a sentence, plus messages keyed
 * by the request field (or batch row) they belong to, so a form can show each next to its cause.
 * Stack traces and raw objects never reach the page.
 */
export interface ReadableError {
  message: string;
  /** field name (e.g. `seconds_total`) → message */
  fields: Record<string, string>;
  /** batch row errors, as the API reported them */
  rows: RowError[];
  status?: number;
}

export interface RowError {
  row: number;
  field?: string;
  message: string;
}

interface ProblemLike {
  type?: unknown;
  title?: unknown;
  detail?: unknown;
  status?: unknown;
  errors?: unknown;
  rows?: unknown;
}

const STATUS_MESSAGES: Record<number, string> = {
  400: 'The request was not accepted.',
  502: 'The Chorus API is not reachable right now (bad gateway). Try again shortly.',
  503: 'The Chorus API is not available right now. Try again shortly.',
  504: 'The Chorus API took too long to answer. Try again shortly.',
  401: 'The API key was not accepted. Sign in again with a valid key.',
  403: 'This API key may not do that.',
  404: 'Not found.',
  409: 'That conflicts with the current state.',
  413: 'The upload is too large.',
  415: 'That file type is not accepted.',
  429: 'Too many requests; wait a moment and try again.',
};

export function describeError(error: unknown): ReadableError {
  const status = numberOr(readProp(error, 'status'), undefined);
  const problem = (readProp(error, 'problem') ?? readProp(error, 'body')) as ProblemLike | undefined;

  if (status === undefined && error instanceof TypeError) {
    return { message: 'Could not reach the Chorus API. Check your connection and try again.', fields: {}, rows: [] };
  }

  const fields: Record<string, string> = {};
  const rows: RowError[] = [];
  for (const issue of listIssues(problem?.errors)) {
    if (issue.row !== undefined) rows.push({ row: issue.row, field: issue.field, message: issue.message });
    else if (issue.field) fields[issue.field] = fields[issue.field] ? `${fields[issue.field]}; ${issue.message}` : issue.message;
  }
  for (const issue of listIssues(problem?.rows)) {
    if (issue.row !== undefined) rows.push({ row: issue.row, field: issue.field, message: issue.message });
  }

  // A problem document from Chorus has a `urn:chorus:problem:*` type; anything else (a proxy's
  // 502 page, say) may carry HTML or internals, so only its status is put into words.
  const fromChorus = typeof problem?.type === 'string' && problem.type.startsWith('urn:chorus:');
  const detail = fromChorus ? nonEmpty(problem?.detail) : undefined;
  const title = fromChorus ? nonEmpty(problem?.title) : undefined;
  const fallback = (status !== undefined && STATUS_MESSAGES[status]) || (status !== undefined && status >= 500 ? 'The server failed to handle this request. Try again shortly.' : 'Something went wrong.');
  const message = detail ?? title ?? (status === undefined && error instanceof Error && !looksLikeStack(error.message) ? error.message : fallback);
  return { message: capitalize(firstLine(message)), fields, rows, status };
}

interface Issue {
  field?: string;
  row?: number;
  message: string;
}

/** Problem `errors` arrive either as a list of `{field|path, message, row?}` or as a `{field: message}` map. */
function listIssues(raw: unknown): Issue[] {
  if (Array.isArray(raw)) {
    return raw.flatMap((item): Issue[] => {
      if (typeof item === 'string') return [{ message: item }];
      if (!item || typeof item !== 'object') return [];
      const record = item as Record<string, unknown>;
      const path = record.field ?? record.path ?? record.name ?? record.pointer;
      const field = Array.isArray(path) ? path.join('.') : typeof path === 'string' ? path.replace(/^\//, '') : undefined;
      const row = numberOr(record.row ?? record.line, undefined);
      const nested = listIssues(record.errors);
      const message = typeof record.message === 'string' ? record.message : typeof record.detail === 'string' ? record.detail : undefined;
      if (message === undefined && nested.length > 0) return nested.map((issue) => ({ ...issue, row: issue.row ?? row }));
      return [{ field, row, message: message ?? 'is not valid' }];
    });
  }
  if (raw && typeof raw === 'object') {
    return Object.entries(raw as Record<string, unknown>).map(([field, value]) => ({
      field,
      message: Array.isArray(value) ? value.join('; ') : String(value),
    }));
  }
  return [];
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

function readProp(value: unknown, key: string): unknown {
  return value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
}

function numberOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function looksLikeStack(text: string): boolean {
  return /\n\s+at /.test(text);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.slice(0, 500);
}
