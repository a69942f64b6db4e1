/** Why a worker aborted a generation it holds (the AbortSignal's reason). */
export const AbortReason = {
  /** The tenant canceled it (broadcast, or BullMQ's own cancelJob). */
  Canceled: 'canceled',
  /** BullMQ could not renew the job's lock: another worker may be running it now. */
  LockLost: 'lock-lost',
  /** The worker is shutting down and hands the job back to the queue. */
  Shutdown: 'shutdown',
} as const;
export type AbortReason = (typeof AbortReason)[keyof typeof AbortReason];
