/**
 * Sections 2–5: jobs/s through one worker at several WORKER_MAX_BATCH, farm overhead under 1/10/100
 * concurrent clients, API submissions/s under autocannon, and jobs/s with 1 and 2 worker processes.
 * Every number comes from the system of record: created_at, finished_at and inference_ms in Postgres.
 */
import { BenchFarm, CompletionWatcher, type FinishedRow } from './farm';
import { summarize, type Summary } from './stats';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p97_5: number; p99: number; average: number; max: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

export interface ThroughputRow {
  label: string;
  jobs: number;
  jobsPerSecond: number;
  failed: number;
}

export interface OverheadRow {
  clients: number;
  jobs: number;
  /** finished_at − created_at − inference_ms, ms. */
  overhead: Summary;
  queue: Summary;
  encodeUpload: Summary;
  inference: Summary;
}

export interface ApiResult {
  connections: number;
  seconds: number;
  acceptedPerSecond: number;
  accepted: number;
  non2xx: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
}

export interface FarmOptions {
  modelDir: string;
  job: { steps: number; seconds_total: number };
  throughputJobs: number;
  maxBatches: number[];
  overheadClients: number[];
  overheadJobsPerClient: (clients: number) => number;
  overheadMaxBatch: number;
  apiConnections: number;
  apiSeconds: number;
  scalingWorkers: number[];
  scalingMaxBatch: number;
  log: (line: string) => void;
}

export interface FarmResults {
  batching: ThroughputRow[];
  overhead: OverheadRow[];
  api?: ApiResult;
  scaling: ThroughputRow[];
  job: { steps: number; seconds_total: number };
}

const prompt = (i: number) => `a dusty breakbeat with vinyl crackle, number ${i}`;

/** Submits `jobs` at once and returns jobs/s from the first created_at to the last finished_at. */
async function throughput(farm: BenchFarm, watcher: CompletionWatcher, label: string, jobs: number, job: FarmOptions['job']): Promise<ThroughputRow> {
  const ids = await Promise.all(Array.from({ length: jobs }, (_, i) => farm.submit({ prompt: prompt(i), seed: i + 1, ...job })));
  const rows = await Promise.all(ids.map((id) => watcher.wait(id)));
  const first = Math.min(...rows.map((r) => r.createdAt.getTime()));
  const last = Math.max(...rows.map((r) => (r.finishedAt ?? r.createdAt).getTime()));
  return { label, jobs, jobsPerSecond: jobs / ((last - first) / 1000), failed: rows.filter((r) => r.status !== 'succeeded').length };
}

async function overhead(farm: BenchFarm, watcher: CompletionWatcher, clients: number, perClient: number, job: FarmOptions['job']): Promise<OverheadRow> {
  const rows: FinishedRow[] = [];
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let j = 0; j < perClient; j++) {
      const id = await farm.submit({ prompt: prompt(c * 1000 + j), seed: c * 1000 + j + 1, ...job });
      rows.push(await watcher.wait(id));
    }
  }));
  const ok = rows.filter((r) => r.status === 'succeeded' && r.finishedAt && r.inferenceMs !== null);
  return {
    clients,
    jobs: ok.length,
    overhead: summarize(ok.map((r) => r.finishedAt!.getTime() - r.createdAt.getTime() - r.inferenceMs!)),
    queue: summarize(ok.map((r) => r.queueMs ?? Number.NaN)),
    encodeUpload: summarize(ok.map((r) => (r.encodeMs ?? 0) + (r.uploadMs ?? 0))),
    inference: summarize(ok.map((r) => r.inferenceMs!)),
  };
}

async function apiLoad(farm: BenchFarm, connections: number, seconds: number): Promise<ApiResult> {
  const result = await autocannon({
    url: `${farm.apiUrl}/v1/generations`,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${farm.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'a warm analog pad in C minor', steps: 1, seconds_total: 1 }),
  });
  return {
    connections,
    seconds: result.duration,
    accepted: result['2xx'],
    acceptedPerSecond: result['2xx'] / result.duration,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
  };
}

export async function benchFarm(options: FarmOptions): Promise<FarmResults> {
  const { log, job } = options;
  const farm = await BenchFarm.start(options.modelDir);
  const watcher = new CompletionWatcher(farm.prisma);
  const results: FarmResults = { batching: [], overhead: [], scaling: [], job };
  try {
    await farm.startApi();
    // warm the API (Prisma, BullMQ connections) before anything is timed
    await Promise.all(Array.from({ length: 4 }, (_, i) => farm.submit({ prompt: prompt(i), ...job })));

    for (const maxBatch of options.maxBatches) {
      await farm.startWorker(`batch-${maxBatch}`, { WORKER_MAX_BATCH: String(maxBatch) });
      await drain(farm, watcher);
      const row = await throughput(farm, watcher, `max batch ${maxBatch}`, options.throughputJobs, job);
      results.batching.push(row);
      log(`batching: WORKER_MAX_BATCH=${maxBatch}: ${row.jobsPerSecond.toFixed(2)} jobs/s (${row.failed} failed)`);
      await farm.stopWorkers();
    }

    const oneStep = { ...job, steps: 1 };
    await farm.startWorker('overhead', { WORKER_MAX_BATCH: String(options.overheadMaxBatch) });
    for (const clients of options.overheadClients) {
      const row = await overhead(farm, watcher, clients, options.overheadJobsPerClient(clients), oneStep);
      results.overhead.push(row);
      log(`overhead: ${clients} clients: p50 ${row.overhead.p50} ms, p95 ${row.overhead.p95} ms, p99 ${row.overhead.p99} ms`);
    }
    await farm.stopWorkers();

    for (const workers of options.scalingWorkers) {
      await Promise.all(Array.from({ length: workers }, (_, w) => farm.startWorker(`scale-${workers}-${w}`, { WORKER_MAX_BATCH: String(options.scalingMaxBatch) })));
      const row = await throughput(farm, watcher, `${workers} worker${workers > 1 ? 's' : ''}`, options.throughputJobs, job);
      results.scaling.push(row);
      log(`scaling: ${workers} workers: ${row.jobsPerSecond.toFixed(2)} jobs/s`);
      await farm.stopWorkers();
    }

    // Last, with no worker running: what is measured is the API alone (the jobs stay queued).
    if (options.apiSeconds > 0) {
      results.api = await apiLoad(farm, options.apiConnections, options.apiSeconds);
      log(`api: ${results.api.acceptedPerSecond.toFixed(0)} accepted/s, p50 ${results.api.latencyMs.p50} ms, p99 ${results.api.latencyMs.p99} ms`);
    }
  } finally {
    await farm.close();
  }
  return results;
}

/** Waits until nothing submitted earlier (the warm-up jobs) is still queued or running. */
async function drain(farm: BenchFarm, watcher: CompletionWatcher): Promise<void> {
  const open = await farm.prisma.generation.findMany({ where: { status: { in: ['queued', 'running'] } }, select: { id: true } });
  await Promise.all(open.map((row) => watcher.wait(row.id)));
}
