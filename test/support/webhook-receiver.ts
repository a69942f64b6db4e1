/**
 * A webhook receiver for tests: an HTTP server on 127.0.0.1 that records every request and
 * answers with the next planned status (200 once the plan is used up).
 *
 *   const receiver = new WebhookReceiver(); const url = await receiver.start();
 *   receiver.plan = [500, 200]; … receiver.for('generation.succeeded'); await receiver.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  plan: number[] = [];
  private readonly server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
      response.statusCode = this.plan.shift() ?? 200;
      response.end('ok');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The requests announcing one event type. */
  for(eventType: string): ReceivedWebhook[] {
    return this.received.filter((request) => request.headers['chorus-event'] === eventType);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
