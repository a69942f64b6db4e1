/**
 * `npm run bench`: measures, in one run, inference (Chorus vs the PyTorch reference), batching,
 * farm overhead, API submissions/s and worker scaling, then writes bench/RESULTS.md with SVG charts.
 *
 * Every size is an environment variable with a quick default (a full run takes minutes on 2 cores):
 *   BENCH_SECTIONS=inference,farm  BENCH_BATCHES=1,2,4,8  BENCH_STEPS=8  BENCH_REPEATS=1
 *   BENCH_JOBS=12  BENCH_JOB_STEPS=4  BENCH_JOB_SECONDS=5  BENCH_MAX_BATCHES=1,4,8
 *   BENCH_OVERHEAD_CLIENTS=1,10,100  BENCH_OVERHEAD_JOBS=10 (per level, at least one per client)
 *   BENCH_OVERHEAD_MAX_BATCH=8  BENCH_API_CONNECTIONS=50  BENCH_API_SECONDS=5
 *   BENCH_SCALING_WORKERS=1,2  BENCH_SCALING_MAX_BATCH=4  BENCH_PYTHON=/usr/bin/python3
 *   MODEL_DIR=models/chorus-tiny  BENCH_OUT=bench (where RESULTS.md and charts/ go)
 * Needs a build (`npm run build`), Postgres and Redis (DATABASE_URL / REDIS_URL, local defaults).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { benchFarm, type FarmResults } from './farm-bench';
import { benchInference, type InferenceResult } from './inference';
import { writeReport } from './report';

/** The repository root: from dist/bench when built, from bench/ under tsx. */
const ROOT = path.basename(path.dirname(__dirname)) === 'dist' ? path.resolve(__dirname, '..', '..') : path.resolve(__dirname, '..');

const env = (name: string, fallback: string) => process.env[name] || fallback;
const list = (name: string, fallback: string) => env(name, fallback).split(',').map((v) => Number(v.trim())).filter((v) => Number.isInteger(v) && v > 0);
const int = (name: string, fallback: number) => {
  const value = Number(env(name, String(fallback)));
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number ≥ 0, got ${process.env[name]}`);
  return value;
};

function machine(python: string): string[] {
  const cpus = os.cpus();
  const ortVersion = (() => {
    try {
      return (require('onnxruntime-node/package.json') as { version: string }).version;
    } catch {
      return 'unknown';
    }
  })();
  let torch = 'unknown';
  try {
    torch = execFileSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' }).trim();
  } catch {
    torch = 'not importable';
  }
  return [
    `CPU: ${cpus.length} × ${cpus[0]?.model ?? 'unknown'}; no GPU`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
    `Node ${process.version}, onnxruntime-node ${ortVersion} (CPU execution provider); Python torch ${torch}`,
  ];
}

async function main(): Promise<void> {
  const python = env('BENCH_PYTHON', '/usr/bin/python3');
  const modelDir = path.resolve(ROOT, env('MODEL_DIR', 'models/chorus-tiny'));
  const outDir = path.resolve(ROOT, env('BENCH_OUT', 'bench'));
  const sections = env('BENCH_SECTIONS', 'inference,farm').split(',').map((s) => s.trim());
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (key.startsWith('BENCH_') && value) config[key] = value;
  const lines: string[] = [];
  const log = (line: string) => {
    const stamped = `${new Date().toISOString().slice(11, 19)} ${line}`;
    lines.push(stamped);
    console.log(stamped);
  };
  const startedAt = new Date();
  const loadStart = os.loadavg();
  log(`load average at start: ${loadStart.map((v) => v.toFixed(2)).join(' ')}; model ${modelDir}`);

  let inference: InferenceResult | undefined;
  if (sections.includes('inference')) {
    inference = await benchInference({ modelDir, batches: list('BENCH_BATCHES', '1,2,4,8'), steps: int('BENCH_STEPS', 8), repeats: Math.max(1, int('BENCH_REPEATS', 1)), python, root: ROOT, log });
  }
  let farm: FarmResults | undefined;
  if (sections.includes('farm')) {
    const overheadJobs = int('BENCH_OVERHEAD_JOBS', 10);
    farm = await benchFarm({
      modelDir,
      job: { steps: int('BENCH_JOB_STEPS', 4), seconds_total: int('BENCH_JOB_SECONDS', 5) },
      throughputJobs: int('BENCH_JOBS', 12),
      maxBatches: list('BENCH_MAX_BATCHES', '1,4,8'),
      overheadClients: list('BENCH_OVERHEAD_CLIENTS', '1,10,100'),
      overheadJobsPerClient: (clients) => Math.max(1, Math.ceil(overheadJobs / clients)),
      overheadMaxBatch: int('BENCH_OVERHEAD_MAX_BATCH', 8),
      apiConnections: int('BENCH_API_CONNECTIONS', 50),
      apiSeconds: int('BENCH_API_SECONDS', 5),
      scalingWorkers: list('BENCH_SCALING_WORKERS', '1,2'),
      scalingMaxBatch: int('BENCH_SCALING_MAX_BATCH', 4),
      log,
    });
  }
  const loadEnd = os.loadavg();
  log(`load average at end: ${loadEnd.map((v) => v.toFixed(2)).join(' ')}`);
  writeReport(outDir, { startedAt, finishedAt: new Date(), loadStart, loadEnd, machine: machine(python), config, log: lines }, inference, farm);
  console.log(`wrote ${path.join(outDir, 'RESULTS.md')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
