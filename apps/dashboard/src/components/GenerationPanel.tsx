import { useState } from 'react';
import type { GenerationResource as Generation } from '@chorus/contracts';
import { useDraft } from '../draft';
import { describeError } from '../errors';
import { navigate } from '../router';
import { useClient } from '../session';
import { isTerminal, useGeneration } from '../use-generation';
import { ErrorMessage } from './ErrorMessage';
import { StatusBadge } from './StatusBadge';
import { WaveformPlayer } from './WaveformPlayer';

/** One generation: live progress while it runs; player, spectrogram and parameters once done. */
export function GenerationPanel({ id, initial }: { id: string; initial?: Generation }) {
  const client = useClient();
  const { generation, error } = useGeneration(client, id, initial);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [canceling, setCanceling] = useState(false);

  if (!generation) {
    return (
      <article className="generation" aria-busy="true">
        <ErrorMessage message={error} />
        {!error && <p role="status">Loading generation {id}…</p>}
      </article>
    );
  }

  const label = `“${generation.prompt}”`;
  const cancel = async () => {
    setCanceling(true);
    setCancelError(null);
    try {
      await client.cancelGeneration(generation.id);
    } catch (caught) {
      setCancelError(describeError(caught).message);
    } finally {
      setCanceling(false);
    }
  };

  return (
    <article className="generation" aria-labelledby={`generation-${generation.id}`} data-generation-id={generation.id} data-status={generation.status}>
      <header>
        <h3 id={`generation-${generation.id}`}>{generation.prompt}</h3>
        <StatusBadge status={generation.status} />
      </header>
      {!isTerminal(generation.status) && (
        <div className="progress-row">
          {generation.status === 'queued' ? (
            // Nothing has started: a bar (busy or at 0 %) would claim progress there is none of.
            <p className="waiting">Queued: waiting for a worker.</p>
          ) : (
            <>
              <label htmlFor={`progress-${generation.id}`}>Sampling</label>
              <progress id={`progress-${generation.id}`} max={1} value={progressFraction(generation.progress)}>
                {Math.round(progressFraction(generation.progress) * 100)}%
              </progress>
              <span aria-hidden="true">{Math.round(progressFraction(generation.progress) * 100)}%</span>
            </>
          )}
          <button type="button" className="danger" onClick={cancel} disabled={canceling}>
            Cancel<span className="visually-hidden"> {label}</span>
          </button>
        </div>
      )}
      <ErrorMessage message={cancelError ?? error} />
      {generation.status === 'failed' && <ErrorMessage message={`The generation failed: ${failureMessage(generation.error)}`} />}
      {generation.status === 'canceled' && <p>This generation was canceled.</p>}
      {generation.status === 'succeeded' && <WaveformPlayer generation={generation} label={label} />}
      <Parameters generation={generation} />
    </article>
  );
}

/** Seconds in hundredths, rounded down, so a clip of the whole window never reads longer than the window. */
export const secondsLabel = (seconds: number) => String(Math.floor(seconds * 100 + 1e-6) / 100);

/** Progress arrives as a fraction 0–1. */
export const progressFraction = (progress: number | null | undefined) => Math.min(1, Math.max(0, progress ?? 0));

function failureMessage(error: unknown): string {
  if (!error) return 'no reason was recorded.';
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return 'no reason was recorded.';
}

export function Parameters({ generation, open = true }: { generation: Generation; open?: boolean }) {
  const { setDraft } = useDraft();
  const useSettings = () => {
    setDraft({
      prompt: generation.prompt,
      negative_prompt: generation.negative_prompt ?? undefined,
      seconds_total: generation.seconds_total,
      steps: generation.steps,
      cfg_scale: generation.cfg_scale,
      sampler: generation.sampler,
      seed: generation.seed ?? undefined,
      output_format: generation.output_format,
    } as Parameters<typeof setDraft>[0]);
    navigate('/generate');
  };
  const timings = generation.timings_ms;
  return (
    <details className="parameters" open={open}>
      <summary>Parameters</summary>
      <dl>
        <dt>Negative prompt</dt>
        <dd>{generation.negative_prompt || '—'}</dd>
        <dt>Seconds</dt>
        <dd>{secondsLabel(generation.seconds_total)}</dd>
        <dt>Steps</dt>
        <dd>{generation.steps}</dd>
        <dt>CFG scale</dt>
        <dd>{generation.cfg_scale}</dd>
        <dt>Sampler</dt>
        <dd>{generation.sampler}</dd>
        <dt>Seed</dt>
        <dd>{generation.seed ?? 'chosen when it runs'}</dd>
        <dt>Format</dt>
        <dd>{generation.output_format}</dd>
        {timings?.total != null && (
          <>
            <dt>Time</dt>
            <dd>
              {(timings.total / 1000).toFixed(1)} s total
              {timings.inference != null && `, ${(timings.inference / 1000).toFixed(1)} s sampling`}
            </dd>
          </>
        )}
        <dt>ID</dt>
        <dd>
          <code>{generation.id}</code>
        </dd>
      </dl>
      <button type="button" className="secondary" onClick={useSettings}>
        Use these settings
      </button>
    </details>
  );
}
