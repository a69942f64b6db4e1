import { type Job, Queue } from 'bullmq';
import { bullConnection, type QueueConnection } from './connection';
import { type GenerationJobData, generationJobOptions } from './generation-job';
import { JobName, QueueName } from './queue-names';

export type GenerationJob = Job<GenerationJobData>;

export interface EnqueueOptions {
  /** BullMQ priority: 1 runs first … 2,097,151. Omit for plain FIFO ahead of prioritized jobs. */
  priority?: number;
}

/** The producer side of the generations queue. */
export class GenerationQueue {
  readonly queue: Queue<GenerationJobData>;

  constructor(connection: QueueConnection) {
    this.queue = new Queue<GenerationJobData>(QueueName.Generations, {
      connection: bullConnection(connection),
      prefix: connection.prefix,
      defaultJobOptions: generationJobOptions,
    });
  }

  /** Queues a generation; the job id is the generation id, so adding it twice is a no-op. */
  add(data: GenerationJobData, options: EnqueueOptions = {}): Promise<GenerationJob> {
    return this.queue.add(JobName.Generate, data, { jobId: data.generationId, priority: options.priority });
  }

  addBulk(jobs: { data: GenerationJobData; priority?: number }[]): Promise<GenerationJob[]> {
    return this.queue.addBulk(
      jobs.map(({ data, priority }) => ({ name: JobName.Generate, data, opts: { jobId: data.generationId, priority } })),
    );
  }

  getJob(generationId: string): Promise<GenerationJob | undefined> {
    return this.queue.getJob(generationId);
  }

  /**
   * Removes a job that no worker holds (waiting, prioritized or delayed). Returns false when a
   * worker is running it (then broadcast a cancel) or when there is no such job.
   */
  async remove(generationId: string): Promise<boolean> {
    const job = await this.queue.getJob(generationId);
    if (!job) return false;
    return (await this.queue.remove(generationId)) === 1;
  }

  /** Jobs waiting to run (not running, not delayed). */
  async waitingCount(): Promise<number> {
    return this.queue.getJobCountByTypes('waiting', 'prioritized');
  }

  close(): Promise<void> {
    return this.queue.close();
  }
}
