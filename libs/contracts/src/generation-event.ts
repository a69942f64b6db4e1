import type { GenerationStatus } from './limits';

/**
 * What the worker publishes while it works on a generation, and what
 * `GET /v1/generations/:id/events` relays as Server-Sent Events.
 * `step`/`steps` are sampler steps (present on progress updates); `progress` is 0..1.
 */
export interface GenerationEvent {
  id: string;
  status: GenerationStatus;
  progress: number;
  step?: number;
  steps?: number;
  error?: string | null;
}

/**
 * SSE event names: `status` when the status is new (the first event always is one, carrying the
 * current state), `progress` for sampler steps while running. The stream ends after a terminal status.
 */
export const GENERATION_EVENT_NAMES = ['status', 'progress'] as const;
export type GenerationEventName = (typeof GENERATION_EVENT_NAMES)[number];

export const TERMINAL_STATUSES: readonly GenerationStatus[] = ['succeeded', 'failed', 'canceled'];

export function isTerminalStatus(status: GenerationStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
