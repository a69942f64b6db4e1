import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { batchFormatOf, ChorusApiError, ChorusClient, type BatchManifestLine, type BatchResource } from '@chorus/client';
import { ConfigError, LIMITS, parseEnv, retryWithBackoff } from '@chorus/contracts';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';

const envSchema = z.object({
  CHORUS_API_URL: z.string().url().default('http://127.0.0.1:3000'),
  CHORUS_API_KEY: z.string({ error: 'is required: the API key of your tenant (chorus tenants create NAME)' }).min(1),
});

/** What `chorus batch` remembers in the output folder, so that running it again resumes. */
export const STATE_FILE = '.chorus-batch.json';

interface BatchState {
  version: 2;
  file: string;
  fileSha256: string;
  apiUrl: string;
  /**
   * Made for this folder and written before submitting: a run interrupted before it learnt the
   * batch id submits again with the same key, and the API answers with the batch it created.
   */
  idempotencyKey: string;
  priority: number | null;
  webhookUrl: string | null;
  /** Null until the API has answered the submission. */
  batchId: string | null;
  submittedAt: string | null;
}

/** Version 1 (before the idempotency key moved here) recorded only the batch; it resumes the same way. */
type StoredState = BatchState | (Omit<BatchState, 'version' | 'idempotencyKey' | 'priority' | 'webhookUrl' | 'batchId'> & { version: 1; batchId: string });

export interface BatchRunOptions {
  file: string;
  out: string;
  apiUrl: string;
  apiKey: string;
  webhookUrl?: string;
  priority?: number;
  pollIntervalMs?: number;
  /** Files downloaded at once. */
  concurrency?: number;
  /** Stops the run between two steps (the test's stand-in for Ctrl-C). */
  signal?: AbortSignal;
  onEvent?: (event: BatchRunEvent) => void;
}

export type BatchRunEvent =
  | { type: 'submitted' | 'resumed'; batchId: string; total: number }
  | { type: 'progress'; batch: BatchResource; downloaded: number }
  | { type: 'downloaded' | 'kept'; row: number; file: string };

export interface BatchRunResult {
  batchId: string;
  status: string;
  total: number;
  /** Files fetched by this run. */
  downloaded: number;
  /** Files a previous run had already fetched completely. */
  kept: number;
  failed: { row: number; status: string; error: string | null }[];
}

/**
 * Submits a batch file (CSV or JSONL) and downloads each finished file into `out` as it
 * completes. What resumes the run lives in `out/.chorus-batch.json`, written before submitting:
 * run again with the same file and folder and it resumes the same batch (even when the first run
 * was interrupted before the API answered), fetching only files not yet there in full. Another
 * folder is another run: the same file renders anew.
 */
export async function runBatch(options: BatchRunOptions): Promise<BatchRunResult> {
  const format = batchFormatOf(options.file);
  if (!format) throw new Error(`${options.file}: the batch file must end in .csv, .jsonl or .ndjson`);
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a whole number from 1, got ${concurrency}`);
  const content = await readFile(options.file, 'utf8');
  const fileSha256 = createHash('sha256').update(content).digest('hex');
  const client = new ChorusClient({
    baseUrl: options.apiUrl,
    apiKey: options.apiKey,
    // Every request stops on the signal, so Ctrl-C works even while a submission waits for its answer.
    fetch: (input, init) => fetch(input, { ...init, signal: options.signal }),
  });
  await mkdir(options.out, { recursive: true });

  const statePath = path.join(options.out, STATE_FILE);
  const previous = await readState(statePath);
  if (previous) refuseOtherRun(previous, options, fileSha256, statePath);
  const state: StoredState = previous ?? {
    version: 2,
    file: path.resolve(options.file),
    fileSha256,
    apiUrl: options.apiUrl,
    idempotencyKey: `chorus-batch-${randomUUID()}`,
    priority: options.priority ?? null,
    webhookUrl: options.webhookUrl ?? null,
    batchId: null,
    submittedAt: null,
  };
  let batchId: string;
  if (state.batchId) {
    batchId = state.batchId;
    const batch = await retrying(() => client.getBatch(batchId), options.signal);
    options.onEvent?.({ type: 'resumed', batchId, total: batch.total });
  } else {
    const pending = state as BatchState;
    if (!previous) await writeState(statePath, pending);
    let batch: BatchResource;
    try {
      batch = await retrying(
        () => client.createBatch(content, format, { idempotencyKey: pending.idempotencyKey, webhookUrl: pending.webhookUrl ?? undefined, priority: pending.priority ?? undefined }),
        options.signal,
      );
    } catch (error) {
      // Refused (a bad row, a bad option): nothing was created, so nothing is left to resume. A 409
      // (the same key still in flight) and 429 keep the key: the batch may yet exist under it.
      if (error instanceof ChorusApiError && error.status < 500 && error.status !== 409 && error.status !== 429) await rm(statePath, { force: true });
      throw error;
    }
    batchId = batch.id;
    await writeState(statePath, { ...pending, batchId, submittedAt: new Date().toISOString() });
    options.onEvent?.({ type: previous ? 'resumed' : 'submitted', batchId, total: batch.total });
  }

  const result: BatchRunResult = { batchId, status: 'queued', total: 0, downloaded: 0, kept: 0, failed: [] };
  const saved = new Set<number>();
  let lastFinished = -1;
  let lines: BatchManifestLine[] = [];
  for (;;) {
    options.signal?.throwIfAborted();
    const batch = await retrying(() => client.getBatch(batchId), options.signal);
    result.status = batch.status;
    result.total = batch.total;
    const finished = batch.counts.succeeded + batch.counts.failed + batch.counts.canceled;
    if (finished !== lastFinished) {
      lines = await retrying(() => client.readBatchManifest(batchId), options.signal);
      const width = String(batch.total).length;
      const ready = lines.filter((line) => line.audio && !saved.has(line.row));
      await eachLimited(ready, concurrency, async (line) => {
        options.signal?.throwIfAborted();
        const file = path.join(options.out, fileNameFor(line, width));
        if (await isComplete(file, line.audio!.bytes)) {
          result.kept += 1;
          options.onEvent?.({ type: 'kept', row: line.row, file });
        } else {
          await download(line.audio!.url, file, options.signal);
          result.downloaded += 1;
          options.onEvent?.({ type: 'downloaded', row: line.row, file });
        }
        saved.add(line.row);
      });
      lastFinished = finished;
    }
    options.onEvent?.({ type: 'progress', batch, downloaded: saved.size });
    const done = batch.status === 'completed' || batch.status === 'canceled';
    if (done && lines.every((line) => !line.audio || saved.has(line.row))) break;
    await sleep(options.pollIntervalMs ?? 2_000, undefined, { signal: options.signal });
  }

  result.failed = lines.filter((line) => line.status !== 'succeeded').map((line) => ({ row: line.row, status: line.status, error: line.error }));
  // The record of the run beside the files: each row's parameters, seed, outcome and file name.
  const width = String(result.total).length;
  const manifest = lines.map((line) => {
    const { audio, ...rest } = line;
    return JSON.stringify({ ...rest, file: audio ? fileNameFor(line, width) : null, bytes: audio?.bytes ?? null, key: audio?.key ?? null });
  });
  await writeFile(path.join(options.out, 'manifest.jsonl'), manifest.length ? `${manifest.join('\n')}\n` : '');
  return result;
}

/** `0042-warm-analog-pad-in-c-minor.wav`: row first, so the folder lists in file order. */
export function fileNameFor(line: BatchManifestLine, width: number): string {
  const slug = line.params.prompt
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
  return `${String(line.row).padStart(width, '0')}${slug ? `-${slug}` : ''}.${line.audio?.format ?? line.params.output_format}`;
}

async function isComplete(file: string, bytes: number | null): Promise<boolean> {
  try {
    const info = await stat(file);
    return info.isFile() && (bytes === null ? info.size > 0 : info.size === bytes);
  } catch {
    return false;
  }
}

/** Downloads into `<file>.part` and renames, so a file under its final name is always whole. */
async function download(url: string, file: string, signal?: AbortSignal): Promise<void> {
  const response = await fetch(url, { signal });
  if (!response.ok || !response.body) throw new Error(`downloading ${path.basename(file)} failed: HTTP ${response.status}`);
  const partial = `${file}.part`;
  await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(partial), { signal });
  await rename(partial, file);
}

/** The folder belongs to one run: another file, farm or set of options is refused, not mixed in. */
function refuseOtherRun(previous: StoredState, options: BatchRunOptions, fileSha256: string, statePath: string): void {
  const what = `${options.out} holds ${previous.batchId ? `batch ${previous.batchId}` : 'a batch submitted'} from ${previous.file} on ${previous.apiUrl}`;
  if (previous.fileSha256 !== fileSha256 || previous.apiUrl !== options.apiUrl) {
    throw new Error(`${what}; use another --out folder, or delete ${statePath} to start over`);
  }
  if (previous.version === 1) return;
  const given = (flag: string, now: string | number | undefined, then: string | number | null) =>
    now !== undefined && now !== then
      ? `submitted ${then === null ? `without ${flag}` : `with ${flag} ${then}`}; resume it with the same ${flag} or none, or use another --out folder to submit the file again`
      : null;
  const mismatch = given('--priority', options.priority, previous.priority) ?? given('--webhook-url', options.webhookUrl, previous.webhookUrl);
  if (mismatch) throw new Error(`${what}, ${mismatch}`);
}

async function readState(file: string): Promise<StoredState | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file} is not a readable batch state (${(error as Error).message}); delete it to start over`);
  }
}

async function writeState(file: string, state: StoredState): Promise<void> {
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

/** Waits out 429 answers (rate limits) and brief network failures; other errors are the caller's. */
async function retrying<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const transient = (error: unknown) => (error instanceof ChorusApiError && (error.status === 429 || error.status === 503)) || error instanceof TypeError;
  return retryWithBackoff(call, transient, { attempts: 8, firstDelayMs: 1_000, maxDelayMs: 30_000, signal });
}

async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

/** `chorus batch FILE.csv|FILE.jsonl --out DIR`. */
export function register(program: Command): void {
  program
    .command('batch')
    .description('submit a batch file to a running farm and download each file as it finishes; run again to resume (CHORUS_API_URL, CHORUS_API_KEY)')
    .argument('<file>', 'a .csv with a header row of generation fields, or a .jsonl with one generation body per line')
    .requiredOption('--out <dir>', 'folder for the audio files, manifest.jsonl and the resume state')
    .option('--webhook-url <url>', 'receives batch.completed / batch.canceled')
    .option('--priority <level>', `default priority of rows that give none (${LIMITS.priorityMin} most urgent … ${LIMITS.priorityMax})`, integer)
    .option('--poll-interval <seconds>', `how often to ask for progress, in seconds (at least ${MIN_POLL_SECONDS})`, seconds, 2)
    .option('--concurrency <n>', 'files downloaded at once (at least 1)', wholeNumberFrom(1), 4)
    .option('--json', 'print the result as JSON instead of a progress bar and summary')
    .action(async (file: string, options: { out: string; webhookUrl?: string; priority?: number; pollInterval: number; concurrency: number; json?: boolean }) => {
      let env: z.infer<typeof envSchema>;
      try {
        env = parseEnv(envSchema);
      } catch (error) {
        if (error instanceof ConfigError) program.error(`chorus: ${error.message}`, { exitCode: 2 });
        throw error;
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      let resumed = false;
      const bar = options.json || !process.stderr.isTTY ? null : new SingleBar({ format: 'batch {bar} {value}/{total} finished | {downloaded} downloaded | {failed} failed', hideCursor: true });
      try {
        const result = await runBatch({
          file,
          out: options.out,
          apiUrl: env.CHORUS_API_URL,
          apiKey: env.CHORUS_API_KEY,
          webhookUrl: options.webhookUrl,
          priority: options.priority,
          pollIntervalMs: Math.round(options.pollInterval * 1000),
          concurrency: options.concurrency,
          signal: controller.signal,
          onEvent: (event) => {
            if (event.type === 'submitted' || event.type === 'resumed') {
              resumed = event.type === 'resumed';
              if (!options.json) process.stderr.write(`${event.type === 'submitted' ? 'submitted' : 'resuming'} batch ${event.batchId} (${event.total} rows)\n`);
              bar?.start(event.total, 0, { downloaded: 0, failed: 0 });
            } else if (event.type === 'progress') {
              const { counts } = event.batch;
              const finished = counts.succeeded + counts.failed + counts.canceled;
              if (bar) bar.update(finished, { downloaded: event.downloaded, failed: counts.failed });
              else if (!options.json) process.stderr.write(`${finished}/${event.batch.total} finished, ${event.downloaded} downloaded, ${counts.failed} failed\n`);
            }
          },
        });
        bar?.stop();
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ batch_id: result.batchId, status: result.status, total: result.total, downloaded: result.downloaded, kept: result.kept, failed: result.failed })}\n`);
        } else {
          process.stdout.write(
            `batch ${result.batchId} ${result.status}: ${result.total - result.failed.length} files in ${options.out} ` +
              `(${result.downloaded} downloaded now, ${result.kept} already there)\n`,
          );
          for (const failure of result.failed) process.stdout.write(`  row ${failure.row}: ${failure.status}${failure.error ? ` (${failure.error})` : ''}\n`);
          if (resumed && result.downloaded === 0) process.stderr.write(`nothing new: ${options.out} already held this run; give another --out folder to render ${file} again\n`);
        }
        if (result.failed.length) process.exitCode = 1;
      } catch (error) {
        bar?.stop();
        if (controller.signal.aborted) {
          process.stderr.write(`interrupted; run the same command again to resume\n`);
          process.exitCode = 130;
          return;
        }
        if (error instanceof ChorusApiError) program.error(`chorus: ${error.message}`, { exitCode: 1 });
        throw error;
      }
    });
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number');
  return Number(value);
}

function wholeNumberFrom(min: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`must be a whole number from ${min}`);
    return Number(value);
  };
}

/** Faster polling than this only spends the tenant's request rate. */
const MIN_POLL_SECONDS = 0.1;

function seconds(value: string): number {
  const number = /^(\d+\.?\d*|\.\d+)$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(number >= MIN_POLL_SECONDS)) throw new InvalidArgumentError(`must be a number of seconds from ${MIN_POLL_SECONDS}, such as 0.5 or 2`);
  return number;
}
