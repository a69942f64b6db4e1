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

  it('counts failed and retried attempts by reason, and tells a shutdown hand-back from a retry', async () => {
    const metrics = new WorkerMetrics();
    metrics.attemptEnded({ status: 'queued', failure: 'ServiceUnavailable' });
    metrics.attemptEnded({ status: 'failed', failure: 'ServiceUnavailable' });
    metrics.attemptEnded({ status: 'queued', handedBack: true });
    metrics.attemptEnded({ status: 'canceled' });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^chorus_generation_failures_total\{reason="ServiceUnavailable"\} 2$/m);
    for (const outcome of ['retried', 'failed', 'handed_back', 'canceled']) {
      expect(text).toMatch(new RegExp(`^chorus_generation_attempts_total\\{outcome="${outcome}"\\} 1$`, 'm'));
    }
  });

  it('times every stage of a succeeded generation', async () => {
    const metrics = new WorkerMetrics();
    metrics.attemptEnded({
      status: 'succeeded',
      queueMs: 1500,
      inferenceMs: 900,
      encodeMs: 40,
      uploadMs: 60,
      modelMs: { textEncoding: 10, sampling: 800, decoding: 90 },
    });
    const text = await metrics.registry.metrics();
    const sums = Object.fromEntries(
      [...text.matchAll(/^chorus_generation_stage_seconds_sum\{stage="(\w+)"\} ([\d.]+)$/gm)].map(([, stage, sum]) => [stage, Number(sum)]),
    );
    expect(sums).toEqual({ queue_wait: 1.5, text_encoding: 0.01, sampling: 0.8, decoding: 0.09, encoding: 0.04, upload: 0.06 });
    expect(text).toMatch(/^chorus_generation_duration_seconds_sum 1$/m);
  });
});
