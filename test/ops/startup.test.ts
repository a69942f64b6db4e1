/**
 * Start-up as an operator meets it, with the built entry points: a bad or missing variable stops
 * the process with exit code 1 and a message naming it; a worker asked for CUDA on this GPU-less
 * machine falls back to the CPU and says so, or, with ORT_REQUIRE_GPU=1, refuses to start.
 * (Nothing here runs on a GPU: these machines have none. docs/operations.md says what was not run.)
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ENTRY, FarmProcess, type FarmProcesses, ROOT, startFarmProcesses, WORKER_ENTRY } from '@chorus/testing';
import { probeUrl, sampleValue } from './probe-port';

let farm: FarmProcesses;

beforeAll(async () => {
  farm = await startFarmProcesses('ops_startup');
}, 60_000);

afterAll(async () => {
  await farm?.close();
});

/** Runs an entry point with the farm's environment plus `env` to its end (start-up failures exit early). */
async function runToExit(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [entry], { cwd: ROOT, env: { ...process.env, ...farm.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const app = new FarmProcess('app', child);
  const timer = setTimeout(() => app.kill('SIGKILL'), 60_000);
  await app.exited;
  clearTimeout(timer);
  return { code: child.exitCode, output: app.lines.join('\n') };
}

describe('bad configuration stops start-up, naming the variable', () => {
  it.each([
    ['api', 'PORT', '70000', /invalid configuration: PORT: .*65535/],
    ['api', 'DATABASE_URL', 'not a url', /invalid configuration: DATABASE_URL/],
    ['api', 'API_SHUTDOWN_DRAIN_MS', 'soon', /invalid configuration: API_SHUTDOWN_DRAIN_MS/],
    ['worker', 'ORT_EXECUTION_PROVIDER', 'tpu', /invalid configuration: ORT_EXECUTION_PROVIDER: must be cpu or cuda/],
    ['worker', 'WORKER_MAX_BATCH', '0', /invalid configuration: WORKER_MAX_BATCH/],
    ['worker', 'WORKER_METRICS_PORT', 'http', /invalid configuration: WORKER_METRICS_PORT/],
    ['worker', 'ORT_REQUIRE_GPU', 'maybe', /invalid configuration: ORT_REQUIRE_GPU: must be one of/],
  ])('%s with %s=%s exits 1 with a message naming it', async (app, variable, value, message) => {
    const { code, output } = await runToExit(app === 'api' ? API_ENTRY : WORKER_ENTRY, { [variable]: value });
    expect(code).toBe(1);
    expect(output).toMatch(message);
  });
});

describe('ORT execution provider selection on a machine without a GPU', () => {
  it('ORT_REQUIRE_GPU=1 with the CUDA provider requested refuses to start, saying why', async () => {
    const { code, output } = await runToExit(WORKER_ENTRY, { ORT_EXECUTION_PROVIDER: 'cuda', ORT_REQUIRE_GPU: '1' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/CUDA execution provider cannot start/);
    expect(output).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
    expect(output).not.toMatch(/worker ready/);
  });

  it('ORT_REQUIRE_GPU=1 with the CPU provider requested refuses to start', async () => {
    const { code, output } = await runToExit(WORKER_ENTRY, { ORT_EXECUTION_PROVIDER: 'cpu', ORT_REQUIRE_GPU: '1' });
    expect(code).not.toBe(0);
    expect(output).toMatch(/a GPU is required \(ORT_REQUIRE_GPU\)/);
  });

  it('CUDA requested without ORT_REQUIRE_GPU falls back to the CPU, logs both providers and exports them', async () => {
    const worker = await farm.startWorker('cuda-fallback', { ORT_EXECUTION_PROVIDER: 'cuda' });
    const lines = worker.logs;
    const fallback = lines.find((line) => line.msg === 'running on the CPU instead of the GPU');
    expect(fallback?.reason).toMatch(/CUDA unavailable/);
    expect(lines.find((line) => line.msg === 'worker ready')).toMatchObject({ requested_execution_provider: 'cuda', execution_provider: 'cpu' });
    const metrics = await (await fetch(`${await probeUrl(worker)}/metrics`)).text();
    const info = metrics.split('\n').find((line) => line.startsWith('chorus_worker_info{'));
    expect(info).toMatch(/requested_provider="cuda",provider="cpu"/);
    expect(sampleValue(metrics, info!.split(' ')[0])).toBe(1);
    await worker.stop();
  });
});
