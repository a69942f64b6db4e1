import { Inject, Injectable } from '@nestjs/common';
import { type Job, UnrecoverableError, WaitingError } from 'bullmq';
import { type Generation, GenerationRepository, isDatabaseUnavailable } from '@chorus/db';
import { AUDIO_MIME_TYPES, encodeAudio, type GeneratedAudio, InvalidRequestError, ModelRunner, validateGenerationRequest } from '@chorus/inference';
import { AudioSecondsQuota, GENERATION_ATTEMPTS, type GenerationEvent, GenerationEventPublisher, type GenerationJobData } from '@chorus/queue';
import { OutcomeNotifier } from '@chorus/webhooks';
import { generationObjectKey, ObjectStore } from '@chorus/storage';
import { Batcher } from '../inference/batcher';
import { LOGGER, type Logger } from '../logger';
import { WORKER_CONFIG, type WorkerConfig } from '../worker-config';
import { WorkerState } from '../worker-state';
import { AbortReason } from './abort-reasons';
import { ProgressThrottle } from './progress-throttle';

/** What a completed BullMQ job returns (kept in Redis briefly; Postgres has the full record). */
export interface GenerationJobResult {
  outcome: 'succeeded' | 'skipped';
  outputKey?: string;
}

/**
 * One generation, start to finish: Postgres says whether it may run, the model samples it, the
 * audio is encoded and uploaded, and only then is the row marked succeeded. Every status change and
 * (throttled) progress step is published for the API's event streams.
 */
@Injectable()
export class GenerationProcessor {
  constructor(
    private readonly generations: GenerationRepository,
    private readonly store: ObjectStore,
    private readonly events: GenerationEventPublisher,
    private readonly batcher: Batcher,
    private readonly runner: ModelRunner,
    private readonly state: WorkerState,
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly outcomes: OutcomeNotifier,
    private readonly audioSeconds: AudioSecondsQuota,
  ) {}

  /** @param signal aborted with an {@link AbortReason} */
  async process(job: Job<GenerationJobData>, token: string | undefined, signal: AbortSignal): Promise<GenerationJobResult> {
    const { generationId, tenantId } = job.data;
    const attempt = job.attemptsMade + 1;
    const log = this.logger.child({ generation_id: generationId, tenant_id: tenantId, job_id: job.id, attempt });

    const row = await this.generations.findById(generationId);
    if (!row) {
      log.warn('generation row not found; dropping the job');
      return { outcome: 'skipped' };
    }
    if (row.status !== 'queued' && row.status !== 'running') {
      log.info({ status: row.status }, 'generation already finished; skipping');
      return { outcome: 'skipped' };
    }
    if (signal.aborted) return this.onAborted(job, token, row, signal.reason, log);
    if (row.cancelRequestedAt) return this.cancel(row, log);

    const model = this.state.model!;
    const running = await this.generations.markRunning(generationId, {
      workerId: this.state.workerId,
      modelName: model.name,
      modelVersion: model.version,
    });
    if (!running) {
      // Between our read and our update the tenant canceled it, or it finished elsewhere.
      const now = await this.generations.findById(generationId);
      if (now?.cancelRequestedAt && (now.status === 'queued' || now.status === 'running')) return this.cancel(now, log);
      log.info({ status: now?.status }, 'generation can no longer run; skipping');
      return { outcome: 'skipped' };
    }
    this.state.active.set(generationId, { generationId, tenantId, startedAt: running.startedAt!, step: 0, steps: running.steps });
    log.info({ queue_ms: running.queueMs, steps: running.steps, seconds_total: running.secondsTotal }, 'generation started');
    await this.publish({ id: generationId, status: 'running', progress: 0, step: 0, steps: running.steps }, log);

    const progress = new ProgressThrottle<{ step: number; steps: number }>(
      this.config.WORKER_PROGRESS_INTERVAL_MS,
      async ({ step, steps }) => {
        const fraction = step / steps;
        await Promise.all([
          job.updateProgress({ step, steps }),
          this.generations.updateProgress(generationId, fraction),
          this.events.publish({ id: generationId, status: 'running', progress: fraction, step, steps }),
        ]);
      },
      (error) => log.warn({ err: error }, 'progress update failed'),
    );

    try {
      const inferenceStarted = performance.now();
      // The API validated the request against the model it knew of; this worker's model decides.
      const request = validateGenerationRequest(this.runner.manifest, toModelRequest(running));
      const audio = await this.batcher.generate(request, {
        signal,
        onProgress: (p) => {
          const active = this.state.active.get(generationId);
          if (active) active.step = p.step;
          progress.offer(p);
        },
      });
      const inferenceMs = performance.now() - inferenceStarted;
      await progress.stop();
      throwIfAborted(signal);

      const encodeStarted = performance.now();
      const format = running.outputFormat;
      const body = await encodeAudio(audio, format);
      const encodeMs = performance.now() - encodeStarted;
      throwIfAborted(signal);

      const uploadStarted = performance.now();
      const key = generationObjectKey(tenantId, generationId, format);
      await this.store.put(key, body, AUDIO_MIME_TYPES[format]);
      const uploadMs = performance.now() - uploadStarted;

      const outputSeconds = audio.frames / audio.sampleRate;
      const done = await retryWhileDatabaseUnavailable(
        () =>
          this.generations.markSucceeded(generationId, {
            outputKey: key,
            outputBytes: body.byteLength,
            outputSeconds,
            sampleRate: audio.sampleRate,
            channels: audio.channels.length,
            inferenceMs,
            encodeMs,
            uploadMs,
          }),
        log,
      );
      if (!done) {
        log.warn('generation was no longer running when its audio was stored; leaving the row as it is');
        this.state.active.delete(generationId);
        return { outcome: 'skipped', outputKey: key };
      }
      const timings = { queueMs: done.queueMs ?? undefined, inferenceMs: done.inferenceMs!, encodeMs: done.encodeMs!, uploadMs: done.uploadMs! };
      log.info(
        {
          queue_ms: timings.queueMs,
          inference_ms: timings.inferenceMs,
          encode_ms: timings.encodeMs,
          upload_ms: timings.uploadMs,
          output_key: key,
          output_bytes: body.byteLength,
          ...modelTimings(audio),
        },
        'generation succeeded',
      );
      this.state.attemptFinished({ generationId, tenantId, status: 'succeeded', outputSeconds, ...timings, modelMs: audio.timingsMs });
      await this.publish({ id: generationId, status: 'succeeded', progress: 1, step: running.steps, steps: running.steps }, log);
      await this.announce(done, log);
      return { outcome: 'succeeded', outputKey: key };
    } catch (error) {
      await progress.stop();
      if (signal.aborted) return this.onAborted(job, token, running, signal.reason, log);
      return this.onFailure(job, running, error, log);
    }
  }

  private async onAborted(job: Job<GenerationJobData>, token: string | undefined, row: Generation, reason: unknown, log: Logger): Promise<never> {
    this.state.active.delete(row.id);
    if (reason === AbortReason.LockLost) {
      // Another worker may hold the job now; the row is theirs to write.
      log.warn('lost the job lock; abandoning the generation to whichever worker holds it');
      throw new Error('job lock lost');
    }
    if (reason === AbortReason.Shutdown) {
      await this.generations.markRetrying(row.id, 'worker shut down; handed back to the queue');
      await job.moveToWait(token);
      log.info('worker shutting down; generation handed back to the queue');
      this.state.attemptFinished({ generationId: row.id, tenantId: row.tenantId, status: 'queued', handedBack: true });
      await this.publish({ id: row.id, status: 'queued', progress: 0 }, log);
      throw new WaitingError();
    }
    return this.cancel(row, log);
  }

  private async cancel(row: Generation, log: Logger): Promise<never> {
    const canceled = await this.generations.markCanceled(row.id);
    this.state.active.delete(row.id);
    if (canceled) {
      log.info('generation canceled');
      this.state.attemptFinished({ generationId: row.id, tenantId: row.tenantId, status: 'canceled' });
      await this.refundAudioSeconds(canceled, log);
      await this.publish({ id: row.id, status: 'canceled', progress: canceled.progress }, log);
      await this.announce(canceled, log);
    }
    throw new UnrecoverableError('canceled');
  }

  private async onFailure(job: Job<GenerationJobData>, row: Generation, error: unknown, log: Logger): Promise<never> {
    // A request the model refuses will be refused again: fail it now rather than retry.
    const permanent = error instanceof Error && error.name === 'InvalidRequestError';
    const message = error instanceof InvalidRequestError ? inWireNames(error) : error instanceof Error ? error.message : String(error);
    const attempts = job.opts.attempts ?? GENERATION_ATTEMPTS;
    const last = permanent || job.attemptsMade + 1 >= attempts;
    if (last) {
      const failed = await this.generations.markFailed(row.id, message);
      log.error({ err: error }, 'generation failed');
      this.state.attemptFinished({ generationId: row.id, tenantId: row.tenantId, status: 'failed', failure: failureName(error) });
      if (failed) await this.refundAudioSeconds(failed, log);
      await this.publish({ id: row.id, status: 'failed', progress: 0, error: message }, log);
      if (failed) await this.announce(failed, log);
    } else {
      await this.generations.markRetrying(row.id, message);
      log.warn({ err: error, attempts_left: attempts - job.attemptsMade - 1 }, 'generation attempt failed; it will be retried');
      this.state.attemptFinished({ generationId: row.id, tenantId: row.tenantId, status: 'queued', failure: failureName(error) });
      await this.publish({ id: row.id, status: 'queued', progress: 0, error: message }, log);
    }
    throw permanent ? new UnrecoverableError(message) : error;
  }

  /** Its webhook and, for a batch's last row, the batch's; a failure here must not fail the generation either. */
  private async announce(generation: Generation, log: Logger): Promise<void> {
    try {
      await this.outcomes.generationFinished(generation);
    } catch (error) {
      log.warn({ err: error, status: generation.status }, 'could not queue the webhook / batch completion');
    }
  }

  /** It ended without audio: its tenant's audio seconds go back (best effort, like the events). */
  private async refundAudioSeconds(generation: Generation, log: Logger): Promise<void> {
    try {
      await this.audioSeconds.refundUnrendered([generation]);
    } catch (error) {
      log.warn({ err: error, status: generation.status }, 'could not give back the audio seconds');
    }
  }

  /** Events are best effort: a Redis hiccup must not fail a generation whose record is written. */
  private async publish(event: GenerationEvent, log: Logger): Promise<void> {
    try {
      await this.events.publish(event);
    } catch (error) {
      log.warn({ err: error, status: event.status }, 'could not publish generation event');
    }
  }
}

function toModelRequest(row: Generation) {
  return {
    prompt: row.prompt,
    negativePrompt: row.negativePrompt ?? undefined,
    secondsStart: row.secondsStart,
    secondsTotal: row.secondsTotal,
    steps: row.steps,
    cfgScale: row.cfgScale,
    sampler: row.sampler,
    seed: row.seed,
  };
}

function modelTimings(audio: GeneratedAudio) {
  return {
    text_encoding_ms: Math.round(audio.timingsMs.textEncoding),
    sampling_ms: Math.round(audio.timingsMs.sampling),
    decoding_ms: Math.round(audio.timingsMs.decoding),
  };
}

/** The model's refusal in the API's words: `seconds_total must be …`, not the library's `secondsTotal`. */
function inWireNames(error: InvalidRequestError): string {
  const field = error.field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  return `${field}${error.message.slice(error.field.length)}`;
}

/** The error's class name (S3ServiceException's is the S3 error code): a bounded metrics label, unlike the message. */
function failureName(error: unknown): string {
  return error instanceof Error ? error.name : 'unknown';
}

/** Tries of the success write while Postgres is out of reach: backoff 250 ms doubling to 5 s, about 40 s in all. */
const STATUS_WRITE_ATTEMPTS = 12;
const STATUS_WRITE_MAX_BACKOFF_MS = 5_000;

/**
 * The audio is in S3 when the success is written: losing that write to a database restart would mean
 * rendering it again, so it is retried (the job lock keeps being renewed meanwhile).
 */
async function retryWhileDatabaseUnavailable<T>(write: () => Promise<T>, log: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isDatabaseUnavailable(error) || attempt >= STATUS_WRITE_ATTEMPTS) throw error;
      log.warn({ err: error, attempt }, 'database unavailable for the status write; retrying');
      await new Promise((resolve) => setTimeout(resolve, Math.min(STATUS_WRITE_MAX_BACKOFF_MS, 250 * 2 ** (attempt - 1))));
    }
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Error('aborted');
}
