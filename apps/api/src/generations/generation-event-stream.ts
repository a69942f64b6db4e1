import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { isTerminalStatus, type GenerationEvent, type GenerationEventName } from '@chorus/contracts';
import { GenerationEventSubscriber } from '@chorus/queue';
import type { Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import type { AuthenticatedTenant } from '../auth/authenticated-tenant';
import { GenerationsService } from './generations.service';

/** Keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;
/** Pub/sub drops messages while a connection blips; the row is re-read this often as a safety net. */
const RECHECK_MS = 5_000;
/** How long a new stream waits for its Redis subscription before it starts without it. */
const SUBSCRIBE_WAIT_MS = 2_000;

/**
 * `GET /v1/generations/:id/events`: the current state as a `status` event, then the worker's
 * progress and status changes as they are published, until a terminal status ends the stream.
 */
@Injectable()
export class GenerationEventStream implements BeforeApplicationShutdown {
  /** Open streams, ended at shutdown so that the HTTP server can close. */
  private readonly open = new Set<() => void>();

  constructor(
    private readonly generations: GenerationsService,
    private readonly subscriber: GenerationEventSubscriber,
    private readonly logger: PinoLogger,
  ) {
    logger.setContext(GenerationEventStream.name);
  }

  async stream(tenant: AuthenticatedTenant, id: string, response: Response): Promise<void> {
    // Throws 404 as a normal problem response, before any byte of the stream is sent.
    await this.generations.find(tenant, id);

    // Subscribe before reading the state, so that nothing published in between is lost.
    const pending: GenerationEvent[] = [];
    let deliver: ((event: GenerationEvent) => void) | null = null;
    const subscription = this.subscriber.subscribe(id, (event) => (deliver ? deliver(event) : pending.push(event)));
    // While Redis is unreachable the subscription waits for it; the stream starts anyway and
    // follows the row (RECHECK_MS) until the subscription comes through.
    const subscribed = await Promise.race([subscription.then(() => true), sleep(SUBSCRIBE_WAIT_MS).then(() => false)]);
    if (!subscribed) this.logger.warn({ generation_id: id, tenant_id: tenant.id }, 'event subscription is slow; following the database meanwhile');

    let closed = false;
    let lastStatus: string | null = null;
    const timers: NodeJS.Timeout[] = [];
    const close = () => {
      if (closed) return;
      closed = true;
      timers.forEach(clearInterval);
      this.open.delete(close);
      void subscription.then((unsubscribe) => unsubscribe()).catch(() => undefined);
      response.end();
    };
    this.open.add(close);
    // The response's close, not the request's: it fires when the client goes away mid-stream.
    response.on('close', close);

    const send = (event: GenerationEvent) => {
      if (closed) return;
      const name: GenerationEventName = event.status !== lastStatus ? 'status' : 'progress';
      lastStatus = event.status;
      response.write(`event: ${name}\ndata: ${JSON.stringify(event)}\n\n`);
      if (isTerminalStatus(event.status)) {
        this.logger.debug({ generation_id: id, tenant_id: tenant.id, status: event.status }, 'event stream ended');
        close();
      }
    };

    response.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    response.flushHeaders();

    try {
      send(toEvent(await this.generations.find(tenant, id)));
      for (const event of pending.splice(0)) send(event);
      deliver = send;
      timers.push(setInterval(() => !closed && response.write(': keep-alive\n\n'), HEARTBEAT_MS));
      timers.push(
        setInterval(() => {
          this.generations
            .find(tenant, id)
            .then((row) => {
              if (row.status !== lastStatus) send(toEvent(row));
            })
            .catch((error: unknown) => this.logger.warn({ generation_id: id, err: error }, 're-reading the generation failed'));
        }, RECHECK_MS),
      );
    } catch (error) {
      this.logger.error({ generation_id: id, tenant_id: tenant.id, err: error }, 'event stream failed');
      close();
    }
  }

  beforeApplicationShutdown(): void {
    for (const close of [...this.open]) close();
  }
}

function toEvent(row: { id: string; status: GenerationEvent['status']; progress: number; steps: number; error: string | null }): GenerationEvent {
  return { id: row.id, status: row.status, progress: row.progress, steps: row.steps, error: row.error };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
