/**
 * A redis-server of the test's own on a free port, so a test can stop and restart Redis without
 * touching the shared one on 6379. Stopping is SIGKILL: an outage, not a polite shutdown.
 *
 *   const redis = await startDedicatedRedis();   // redis.url
 *   await redis.stop(); … await redis.start(); … await redis.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { eventually, freePort } from '@chorus/testing';

export interface DedicatedRedis {
  port: number;
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDedicatedRedis(): Promise<DedicatedRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const redis: DedicatedRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await eventually(`redis-server on port ${port}`, () => accepts(port), 10_000);
    },
    async stop() {
      if (!child) return;
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
      child = undefined;
    },
  };
  await redis.start();
  return redis;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}
