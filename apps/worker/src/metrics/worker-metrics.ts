import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The stages of one generation, in the order they happen. */
export const GENERATION_STAGES = ['queue_wait', 'text_encoding', 'sampling', 'decoding', 'encoding', 'upload'] as const;
export type GenerationStage = (typeof GENERATION_STAGES)[number];

/**
 * How an attempt left this worker. `retried`: failed, queued again with backoff; `handed_back`:
 * returned to the queue at shutdown for another worker, no attempt counted.
 */
export type AttemptOutcome = 'succeeded' | 'failed' | 'canceled' | 'retried' | 'handed_back';

/** What the worker reports about an attempt that ended (WorkerState's `attempt-finished`). */
export interface EndedAttempt {
  status: 'succeeded' | 'failed' | 'canceled' | 'queued';
  queueMs?: number;
  inferenceMs?: number;
  encodeMs?: number;
  uploadMs?: number;
  modelMs?: { textEncoding: number; sampling: number; decoding: number };
  failure?: string;
  handedBack?: boolean;
}

/** Seconds; queue waits and whole renders run from milliseconds (tiny model, idle farm) to minutes. */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const STEP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const BATCH_BUCKETS = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32];

/** The busy ratio is measured over this trailing window. */
export const BUSY_WINDOW_MS = 60_000;

export interface LoadedModel {
  model: string;
  version: string;
  /** What ORT_EXECUTION_PROVIDER asked for. */
  requestedProvider: string;
  /** What onnxruntime actually gave (a CUDA request can fall back to the CPU). */
  provider: string;
  loadSeconds: number;
}

/**
 * A worker's Prometheus series, on a registry of its own. The job processor reports into it;
 * `GET /metrics` on WORKER_METRICS_PORT serves it.
 */
export class WorkerMetrics {
  readonly registry = new Registry();

  readonly stageSeconds = new Histogram({
    name: 'chorus_generation_stage_seconds',
    help: 'Time a generation spent in each stage: queue_wait, text_encoding, sampling, decoding, encoding, upload.',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });

  readonly generationSeconds = new Histogram({
    name: 'chorus_generation_duration_seconds',
    help: 'Worker time of a succeeded generation: inference + encoding + upload.',
    buckets: STAGE_BUCKETS,
    registers: [this.registry],
  });

  readonly attempts = new Counter({
    name: 'chorus_generation_attempts_total',
    help: 'Attempts that ended on this worker, by outcome (succeeded, failed, canceled, retried, handed_back).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly stepSeconds = new Histogram({
    name: 'chorus_sampler_step_seconds',
    help: 'Latency of one sampler step (one U-Net pass over the whole batch, cond and uncond), by sampler.',
    labelNames: ['sampler'] as const,
    buckets: STEP_BUCKETS,
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'chorus_batch_size',
    help: 'Generations sampled together in one batched forward pass.',
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  readonly failures = new Counter({
    name: 'chorus_generation_failures_total',
    help: 'Failed generation attempts (final or retried), by reason: the error class, e.g. InferenceThreadError, or the S3 error code.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly modelLoadSeconds = new Gauge({
    name: 'chorus_model_load_seconds',
    help: 'Time it took to load the model (graphs, sessions, warm-up) at start-up.',
    labelNames: ['model', 'version', 'provider'] as const,
    registers: [this.registry],
  });

  readonly info = new Gauge({
    name: 'chorus_worker_info',
    help: 'Always 1; labels say which model this worker serves and which ORT execution provider it got.',
    labelNames: ['model', 'version', 'requested_provider', 'provider'] as const,
    registers: [this.registry],
  });

  readonly busySeconds = new Counter({
    name: 'chorus_worker_busy_seconds_total',
    help: 'Seconds this worker spent holding at least one job; rate() of it is the busy ratio.',
    registers: [this.registry],
  });

  readonly jobsInProgress = new Gauge({
    name: 'chorus_worker_jobs_in_progress',
    help: 'Jobs this worker holds right now.',
    registers: [this.registry],
  });

  private readonly busy = new BusyClock(BUSY_WINDOW_MS);
  private loaded: LoadedModel | undefined;

  constructor(private readonly now: () => number = Date.now) {
    collectDefaultMetrics({ register: this.registry, prefix: 'chorus_worker_' });
    const busy = this.busy;
    const clock = this.now;
    new Gauge({
      name: 'chorus_worker_busy_ratio',
      help: `Share of the last ${BUSY_WINDOW_MS / 1000} s this worker held at least one job (0 idle … 1 saturated).`,
      registers: [this.registry],
      collect() {
        this.set(busy.ratio(clock()));
      },
    });
  }

  get model(): LoadedModel | undefined {
    return this.loaded;
  }

  modelLoaded(loaded: LoadedModel): void {
    this.loaded = loaded;
    this.modelLoadSeconds.set({ model: loaded.model, version: loaded.version, provider: loaded.provider }, loaded.loadSeconds);
    this.info.set({ model: loaded.model, version: loaded.version, requested_provider: loaded.requestedProvider, provider: loaded.provider }, 1);
  }

  /** A job was taken; call the returned function once, however it ends. */
  jobStarted(): () => void {
    this.busy.begin(this.now());
    this.jobsInProgress.inc();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.jobsInProgress.dec();
      const busyMs = this.busy.end(this.now());
      if (busyMs !== undefined) this.busySeconds.inc(busyMs / 1000);
    };
  }

  observeStage(stage: GenerationStage, seconds: number): void {
    this.stageSeconds.observe({ stage }, seconds);
  }

  observeStep(sampler: string, seconds: number): void {
    this.stepSeconds.observe({ sampler }, seconds);
  }

  observeBatch(size: number): void {
    this.batchSize.observe(size);
  }

  /** Counts the attempt by outcome and, for a succeeded one, times every stage it went through. */
  attemptEnded(attempt: EndedAttempt): void {
    const outcome: AttemptOutcome =
      attempt.status !== 'queued' ? attempt.status : attempt.handedBack ? 'handed_back' : 'retried';
    this.attempts.inc({ outcome });
    if (attempt.failure !== undefined && (outcome === 'failed' || outcome === 'retried')) this.failures.inc({ reason: attempt.failure });
    if (outcome !== 'succeeded') return;
    const stages: [GenerationStage, number | undefined][] = [
      ['queue_wait', attempt.queueMs],
      ['text_encoding', attempt.modelMs?.textEncoding],
      ['sampling', attempt.modelMs?.sampling],
      ['decoding', attempt.modelMs?.decoding],
      ['encoding', attempt.encodeMs],
      ['upload', attempt.uploadMs],
    ];
    for (const [stage, ms] of stages) if (ms !== undefined) this.observeStage(stage, ms / 1000);
    this.generationSeconds.observe(((attempt.inferenceMs ?? 0) + (attempt.encodeMs ?? 0) + (attempt.uploadMs ?? 0)) / 1000);
  }
}

/**
 * Busy time within a trailing window. Overlapping jobs (a batch) count once: the worker is busy
 * while it holds at least one.
 */
export class BusyClock {
  private holding = 0;
  private busySince: number | undefined;
  /** Finished busy intervals that may still overlap the window. */
  private intervals: [start: number, end: number][] = [];

  constructor(private readonly windowMs: number) {}

  begin(at: number): void {
    this.holding += 1;
    if (this.holding === 1) this.busySince = at;
  }

  /** When the worker went idle: the length of the busy span that just ended, in ms. */
  end(at: number): number | undefined {
    if (this.holding === 0) return undefined;
    this.holding -= 1;
    if (this.holding > 0 || this.busySince === undefined) return undefined;
    this.intervals.push([this.busySince, at]);
    const spanMs = at - this.busySince;
    this.busySince = undefined;
    return spanMs;
  }

  ratio(at: number): number {
    const windowStart = at - this.windowMs;
    this.intervals = this.intervals.filter(([, end]) => end > windowStart);
    const spans = this.busySince === undefined ? this.intervals : [...this.intervals, [this.busySince, at] as [number, number]];
    const busyMs = spans.reduce((sum, [start, end]) => sum + Math.max(0, end - Math.max(start, windowStart)), 0);
    return Math.min(1, busyMs / this.windowMs);
  }
}
