/**
 * The farm as real processes from dist/ (the API and workers as child processes) on a database,
 * BullMQ prefix and s3rver of its own, so a benchmark never touches anyone's data: the harness the
 * tests use (@chorus/testing), with the logging and timing a measurement wants.
 */
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, TERMINAL_STATUSES } from '@chorus/contracts';
import type { PrismaClient } from '@chorus/db';
import { createTestDatabase, createTestQueueConnection, startFarmProcesses, type FarmProcesses, type TestDatabase } from '@chorus/testing';

export class BenchFarm {
  apiKey = '';

  private constructor(
    private readonly farm: FarmProcesses,
    private readonly db: TestDatabase,
  ) {}

  get apiUrl(): string {
    return this.farm.apiUrl ?? '';
  }

  get prisma(): PrismaClient {
    return this.db.prisma;
  }

  static async start(modelDir: string): Promise<BenchFarm> {
    const db = await createTestDatabase('bench', process.env.DATABASE_URL || DEFAULT_DATABASE_URL);
    const { redisUrl } = createTestQueueConnection('bench', process.env.REDIS_URL || DEFAULT_REDIS_URL);
    const farm = await startFarmProcesses('bench', {
      database: db,
      redisUrl,
      env: {
        MODEL_DIR: modelDir,
        // The API's own log lines at info would cost the very CPU being measured.
        LOG_LEVEL: 'warn',
        // The workers' defaults, not the quick ones the fault tests want.
        WORKER_HEARTBEAT_MS: '5000',
        WORKER_PROGRESS_INTERVAL_MS: '1000',
      },
    });
    return new BenchFarm(farm, db);
  }

  async startApi(): Promise<void> {
    await this.farm.startApi();
    this.apiKey = (await this.farm.createTenant('bench')).apiKey;
  }

  async startWorker(name: string, extra: Record<string, string> = {}): Promise<void> {
    await this.farm.startWorker(name, { LOG_LEVEL: 'info', ...extra });
  }

  async stopWorkers(): Promise<void> {
    const workers = [...this.farm.services.values()].filter((service) => service.name !== 'api');
    await Promise.all(workers.map(async (worker) => {
      await worker.stop();
      this.farm.services.delete(worker.name);
    }));
  }

  /** POST /v1/generations; returns the id. */
  async submit(body: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${this.apiUrl}/v1/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await response.json()) as { id?: string };
    if (response.status !== 202 || !json.id) throw new Error(`submit answered ${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json.id;
  }

  async close(): Promise<void> {
    await this.farm.close();
    await this.db.drop().catch(() => undefined);
  }
}

export interface FinishedRow {
  id: string;
  status: string;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  inferenceMs: number | null;
  encodeMs: number | null;
  uploadMs: number | null;
  queueMs: number | null;
}

/**
 * Resolves each id once Postgres (the system of record) shows it finished: one query per tick for
 * all the ids in flight, so a hundred waiting clients cost one poll, not a hundred.
 */
export class CompletionWatcher {
  private readonly waiting = new Map<string, (row: FinishedRow) => void>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly prisma: PrismaClient, private readonly everyMs = 20) {}

  wait(id: string): Promise<FinishedRow> {
    const done = new Promise<FinishedRow>((resolve) => this.waiting.set(id, resolve));
    if (!this.timer) this.tick();
    return done;
  }

  private tick(): void {
    this.timer = setTimeout(async () => {
      const ids = [...this.waiting.keys()];
      const rows = ids.length
        ? await this.prisma.generation.findMany({
            where: { id: { in: ids }, status: { in: [...TERMINAL_STATUSES] } },
            select: { id: true, status: true, createdAt: true, startedAt: true, finishedAt: true, inferenceMs: true, encodeMs: true, uploadMs: true, queueMs: true },
          })
        : [];
      for (const row of rows) {
        this.waiting.get(row.id)?.(row);
        this.waiting.delete(row.id);
      }
      if (this.waiting.size > 0) this.tick();
      else this.timer = undefined;
    }, this.everyMs);
  }
}
