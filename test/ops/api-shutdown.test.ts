/**
 * The API on SIGTERM (a process from dist/ on real Postgres, Redis and s3rver): it stops accepting
 * connections, lets the request in flight finish with its normal answer, then exits 0.
 */
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FarmProcess, type FarmProcesses, type FarmTenant, startFarmProcesses } from '@chorus/testing';

let farm: FarmProcesses;
let api: FarmProcess;
let tenant: FarmTenant;

beforeAll(async () => {
  farm = await startFarmProcesses('ops_api_shutdown');
  api = await farm.startApi({ API_SHUTDOWN_DRAIN_MS: '20000' });
  tenant = await farm.createTenant('ops');
}, 120_000);

afterAll(async () => {
  await farm?.close();
});

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1');
  });
}

describe('the API given SIGTERM', () => {
  it('finishes the request in flight, refuses new connections, and exits 0', async () => {
    const port = Number(new URL(farm.apiUrl!).port);
    const body = JSON.stringify({ prompt: 'rain on a tin roof', seconds_total: 1, steps: 4, seed: 3 });
    // A request whose body is still arriving when SIGTERM lands: it is in flight, not idle.
    const socket = await connect(port);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('close', () => resolve(text));
    });
    socket.write(
      `POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tenant.apiKey}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    api.kill('SIGTERM');
    // The listener closes promptly: a new connection is refused while the old request is pending.
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      await connect(port).then(
        (other) => other.destroy(),
        () => (refused = true),
      );
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(refused).toBe(true);
    expect(api.child.exitCode).toBeNull();

    socket.write(body.slice(10));
    const response = await answer;
    expect(response).toMatch(/^HTTP\/1\.1 202 /);
    await api.exited;
    expect(api.child.exitCode).toBe(0);
    expect(api.logs.map((line) => line.msg)).toContain('HTTP server drained');
    // The request was not lost halfway: its generation is in Postgres.
    expect(await farm.db!.prisma.generation.count({ where: { tenantId: tenant.id } })).toBe(1);
  });
});
