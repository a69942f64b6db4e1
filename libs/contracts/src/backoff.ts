export interface BackoffPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** The wait after the first failure, doubled after each one. */
  firstDelayMs: number;
  /** No wait is longer than this. */
  maxDelayMs?: number;
  /** Aborts a wait (and so the retrying). */
  signal?: AbortSignal;
}

/**
 * Calls `call` until it resolves, waiting with exponential backoff between tries while `retryable`
 * says the failure is worth another try; the last failure, or one not retryable, is thrown.
 */
export async function retryWithBackoff<T>(
  call: () => Promise<T>,
  retryable: (error: unknown, attempt: number) => boolean,
  policy: BackoffPolicy,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= policy.attempts || !retryable(error, attempt)) throw error;
      const delay = policy.firstDelayMs * 2 ** (attempt - 1);
      await wait(Math.min(delay, policy.maxDelayMs ?? Infinity), policy.signal);
    }
  }
}

/** A timer that an abort ends early, rejecting with the signal's reason (no Node import: the dashboard bundles this library). */
function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
