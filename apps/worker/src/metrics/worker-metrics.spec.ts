import { describe, expect, it } from 'vitest';
import { BUSY_WINDOW_MS, BusyClock, WorkerMetrics } from './worker-metrics';

describe('BusyClock', () => {
  it('is 0 for a worker that never held a job and 1 for one that held a job the whole window', () => {
    const clock = new BusyClock(BUSY_WINDOW_MS);
    expect(clock.ratio(100_000)).toBe(0);
    clock.begin(0);
    expect(clock.ratio(BUSY_WINDOW_MS * 2)).toBe(1);
  });

  it('counts overlapping jobs (a batch) once and forgets spans older than the window', () => {
    const clock = new BusyClock(10_000);
    clock.begin(0);
    clock.begin(1_000);
    expect(clock.end(2_000)).toBeUndefined();
    expect(clock.end(3_000)).toBe(3_000);
    expect(clock.ratio(10_000)).toBeCloseTo(0.3);
    clock.begin(15_000);
    expect(clock.end(20_000)).toBe(5_000);
    // Window [12 s, 22 s]: the first span fell out, the second covers 5 of 10 s.
    expect(clock.ratio(22_000)).toBeCloseTo(0.5);
  });
});

describe('WorkerMetrics', () => {
  it('exposes busy seconds and the busy ratio from job start and end', async () => {
    let now = 0;
    const metrics = new WorkerMetrics(() => now);
    const done = metrics.jobStarted();
    now = 30_000;
    done();
    done(); // idempotent: a second call must not count the job twice
    now = 60_000;
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^chorus_worker_busy_seconds_total 30$/m);
    expect(text).toMatch(/^chorus_worker_busy_ratio 0\.5$/m);
    expect(text).toMatch(/^chorus_worker_jobs_in_progress 0$/m);
  });

  it('labels the worker with the execution provider it actually got next to the one it asked for', async () => {
    const metrics = new WorkerMetrics();
    metrics.modelLoaded({ model: 'chorus-tiny', version: '0.1.0', requestedProvider: 'cuda', provider: 'cpu', loadSeconds: 1.5 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('chorus_worker_info{model="chorus-tiny",version="0.1.0",requested_provider="cuda",provider="cpu"} 1');
    expect(text).toContain('chorus_model_load_seconds{model="chorus-tiny",version="0.1.0",provider="cpu"} 1.5');
  });

  it('counts a failure by reason only when the generation failed', async () => {
    const metrics = new WorkerMetrics();
    metrics.generationEnded('failed', 2, 'upload_failed');
    metrics.generationEnded('canceled', 1);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^chorus_generation_failures_total\{reason="upload_failed"\} 1$/m);
    expect(text).not.toMatch(/chorus_generation_failures_total\{reason="unknown"\}/);
    expect(text).toMatch(/^chorus_generations_total\{outcome="canceled"\} 1$/m);
  });
});
