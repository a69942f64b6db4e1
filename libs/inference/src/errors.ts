/**
 * One error type per failure kind. Each carries a `name` that survives the trip from the
 * inference thread to the caller (see `serializeError` / `deserializeError`).
 */

/** A generation request is outside what the model or the farm allows. */
export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
  constructor(
    /** The `GenerationRequest` field at fault, e.g. `secondsTotal`. */
    readonly field: string,
    /** What is allowed, e.g. `a number of seconds from 0.05 to 11.88 (the model's window)`. */
    readonly allowed: string,
    readonly received?: unknown,
  ) {
    super(`${field} must be ${allowed}${received === undefined ? '' : `, got ${formatReceived(received)}`}`);
  }
}

/** The model folder, its model.json or one of its graphs cannot be used. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(
    message: string,
    /** The file or folder at fault. */
    readonly path: string,
  ) {
    super(message);
  }
}

/** The requested execution provider (e.g. CUDA) is not available and a fallback was refused. */
export class ExecutionProviderError extends Error {
  override readonly name = 'ExecutionProviderError';
}

/** The generation was aborted through its AbortSignal; raised between two sampler steps. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(message = 'the generation was aborted') {
    super(message);
  }
}

/** The inference thread died or was closed while work was pending. */
export class InferenceThreadError extends Error {
  override readonly name = 'InferenceThreadError';
}

export interface SerializedError {
  name: string;
  message: string;
  field?: string;
  allowed?: string;
  received?: unknown;
  path?: string;
  stack?: string;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof InvalidRequestError) {
    return { name: error.name, message: error.message, field: error.field, allowed: error.allowed, received: error.received };
  }
  if (error instanceof ModelLoadError) return { name: error.name, message: error.message, path: error.path };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

export function deserializeError(e: SerializedError): Error {
  switch (e.name) {
    case 'InvalidRequestError':
      return new InvalidRequestError(e.field ?? '(request)', e.allowed ?? 'valid', e.received);
    case 'ModelLoadError':
      return new ModelLoadError(e.message, e.path ?? '');
    case 'ExecutionProviderError':
      return new ExecutionProviderError(e.message);
    case 'AbortError':
      return new AbortError(e.message);
    default: {
      const error = new Error(e.message);
      error.name = e.name;
      if (e.stack) error.stack = e.stack;
      return error;
    }
  }
}

function formatReceived(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
