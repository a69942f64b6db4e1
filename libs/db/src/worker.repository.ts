import { Inject, Injectable } from '@nestjs/common';
import type { Worker } from './generated/client';
import type { PrismaClient } from './prisma-client';
import { PRISMA } from './tokens';

export type { Worker };

export interface WorkerHeartbeat {
  id: string;
  host: string;
  /** onnxruntime execution provider, e.g. cpu or cuda. */
  device: string;
  /** name@version of the model it keeps warm. */
  model: string;
  currentGenerationId: string | null;
}

/** One row per worker process, refreshed by its heartbeat. */
@Injectable()
export class WorkerRepository {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Creates the row on the first beat and refreshes it after; timestamps from the database clock. */
  async heartbeat(beat: WorkerHeartbeat): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO "workers" ("id", "host", "device", "model", "current_generation_id", "started_at", "last_heartbeat_at")
      VALUES (${beat.id}, ${beat.host}, ${beat.device}, ${beat.model}, ${beat.currentGenerationId}::uuid, now(), now())
      ON CONFLICT ("id") DO UPDATE
        SET "host" = EXCLUDED."host", "device" = EXCLUDED."device", "model" = EXCLUDED."model",
            "current_generation_id" = EXCLUDED."current_generation_id", "last_heartbeat_at" = now()`;
  }

  /** Workers whose last heartbeat is at most `withinMs` old. */
  async listAlive(withinMs: number): Promise<Worker[]> {
    return this.prisma.$queryRaw<Worker[]>`
      SELECT "id", "host", "device", "model", "current_generation_id" AS "currentGenerationId",
             "started_at" AS "startedAt", "last_heartbeat_at" AS "lastHeartbeatAt"
        FROM "workers"
       WHERE "last_heartbeat_at" >= now() - make_interval(secs => ${withinMs / 1000})
       ORDER BY "id"`;
  }

  findById(id: string): Promise<Worker | null> {
    return this.prisma.worker.findUnique({ where: { id } });
  }

  /** A worker shutting down cleanly removes its row. */
  async remove(id: string): Promise<void> {
    await this.prisma.worker.deleteMany({ where: { id } });
  }
}
