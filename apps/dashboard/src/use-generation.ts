import { useEffect, useState } from 'react';
import type { ChorusClient } from '@chorus/client';
import type { GenerationResource as Generation } from '@chorus/contracts';
import { describeError } from './errors';

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);
const WATCHDOG_MS = 10_000;
export const isTerminal = (status: string) => TERMINAL.has(status);

/**
 * A generation kept current: live progress over the SSE stream while it runs, then the full
 * record (audio URL, timings) once it ends. Falls back to polling if the stream drops.
 */
export function useGeneration(client: ChorusClient, id: string, initial?: Generation) {
  const [generation, setGeneration] = useState<Generation | undefined>(initial);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const abort = new AbortController();
    const { signal } = abort;

    const follow = async () => {
      let current = initial?.id === id ? initial : await client.getGeneration(id);
      if (signal.aborted) return;
      setGeneration(current);
      while (!signal.aborted && !isTerminal(current.status)) {
        // A stream that stays open but goes quiet (a proxy holding it, a missed message) must not
        // leave the page "running" forever: check the record now and then, and end the stream
        // once it says the generation is over.
        const stream = new AbortController();
        const stopStream = () => stream.abort();
        signal.addEventListener('abort', stopStream, { once: true });
        const watchdog = setInterval(() => {
          client.getGeneration(id).then((latest) => {
            if (isTerminal(latest.status)) stream.abort();
          }, () => undefined);
        }, WATCHDOG_MS);
        try {
          for await (const event of client.streamEvents(id, { signal: stream.signal })) {
            const update = eventUpdate(event);
            setGeneration((previous) => (previous ? { ...previous, ...update } : previous));
            if (update.status && isTerminal(update.status)) break;
          }
        } catch {
          if (signal.aborted) return;
          // The stream broke (proxy timeout, network blip) or the watchdog ended it: wait a
          // moment unless it is over, then read the record and reconnect if still needed.
          if (!stream.signal.aborted) await sleep(1000, signal);
        } finally {
          clearInterval(watchdog);
          signal.removeEventListener('abort', stopStream);
        }
        if (signal.aborted) return;
        current = await client.getGeneration(id);
        if (signal.aborted) return;
        setGeneration(current);
      }
    };

    follow().catch((caught: unknown) => {
      if (!signal.aborted) setError(describeError(caught).message);
    });
    return () => abort.abort();
  }, [client, id]);

  return { generation, error, setGeneration };
}

/** The fields of a generation that an SSE event changes (status, progress, step). */
function eventUpdate(event: unknown): Partial<Generation> {
  const record = (event && typeof event === 'object' ? event : {}) as Record<string, unknown>;
  const data = (record.data && typeof record.data === 'object' ? record.data : record) as Record<string, unknown>;
  const update: Record<string, unknown> = {};
  if (typeof data.status === 'string') update.status = data.status;
  if (typeof data.progress === 'number') update.progress = data.progress;
  return update as Partial<Generation>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
