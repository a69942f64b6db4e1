/**
 * Passes on at most one value per interval, dropping the ones in between, and never runs two sends
 * at once (a slow database must not pile up progress writes). The first value goes at once.
 */
export class ProgressThrottle<T> {
  private lastSentAt = -Infinity;
  private inFlight?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly intervalMs: number,
    private readonly send: (value: T) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  offer(value: T): void {
    const now = performance.now();
    if (this.stopped || this.inFlight || now - this.lastSentAt < this.intervalMs) return;
    this.lastSentAt = now;
    this.inFlight = this.send(value)
      .catch(this.onError)
      .finally(() => {
        this.inFlight = undefined;
      });
  }

  /** Stops passing values on and waits for the one in flight, so nothing lands after a final status. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.inFlight;
  }
}
