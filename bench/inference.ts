/**
 * Section 1: the shipped model through ModelRunner (the worker's inference thread, onnxruntime-node)
 * against models/training's PyTorch sampler, same model, sampler, steps and batch sizes, same cores.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ModelRunner, readManifest, type GenerationRequest, type ModelManifest, type SamplerName } from '@chorus/inference';

const run = promisify(execFile);

export interface InferenceRow {
  batch: number;
  /** Sampling time over steps: one batched U-Net pass (2N rows with CFG) per step, plus sampler math. */
  stepMs: number;
  decodeMs: number;
  wallMs: number;
  /** Seconds of audio (N × seconds_total) per second of wall time. */
  realtimeFactor: number;
}

export interface InferenceResult {
  steps: number;
  sampler: SamplerName;
  cfgScale: number;
  secondsTotal: number;
  onnx: InferenceRow[];
  torch: InferenceRow[];
  torchInfo: Record<string, unknown> | { error: string };
  /** One clip of 10 s at the model's default steps: the "10-s clip in < 10 s" target. */
  clip10: { steps: number; wallMs: number };
  manifest: ModelManifest;
}

export interface InferenceOptions {
  modelDir: string;
  batches: number[];
  steps: number;
  repeats: number;
  python: string;
  root: string;
  log: (line: string) => void;
}

function request(manifest: ModelManifest, i: number, steps: number, secondsTotal: number): GenerationRequest {
  return {
    prompt: `a warm analog pad in C minor, take ${i}`,
    secondsStart: 0,
    secondsTotal,
    steps,
    cfgScale: manifest.defaults.cfg_scale,
    sampler: manifest.defaults.sampler as SamplerName,
    seed: i + 1,
  };
}

export async function benchInference(options: InferenceOptions): Promise<InferenceResult> {
  const manifest = await readManifest(options.modelDir);
  const secondsTotal = 10;
  const { steps, batches } = options;
  const runner = await ModelRunner.start({ modelDir: options.modelDir, executionProvider: 'cpu' });
  const onnx: InferenceRow[] = [];
  let clip10 = { steps: manifest.defaults.steps, wallMs: Number.NaN };
  try {
    await runner.generate(request(manifest, 0, 2, secondsTotal)); // warm-up: sessions, arenas
    for (const batch of batches) {
      let best: InferenceRow | undefined;
      for (let r = 0; r < options.repeats; r++) {
        const t0 = performance.now();
        const results = await runner.generateBatch(Array.from({ length: batch }, (_, i) => ({ request: request(manifest, i, steps, secondsTotal) })));
        const wallMs = performance.now() - t0;
        const first = results[0];
        if (first.status === 'rejected') throw first.reason;
        const { sampling, decoding } = first.value.timingsMs;
        const row = { batch, stepMs: sampling / steps, decodeMs: decoding, wallMs, realtimeFactor: (batch * secondsTotal) / (wallMs / 1000) };
        if (!best || row.wallMs < best.wallMs) best = row;
      }
      onnx.push(best!);
      options.log(`onnx batch ${batch}: ${best!.stepMs.toFixed(1)} ms/step, RTF ${best!.realtimeFactor.toFixed(2)}`);
    }
    const t0 = performance.now();
    await runner.generate(request(manifest, 0, manifest.defaults.steps, 10));
    clip10 = { steps: manifest.defaults.steps, wallMs: performance.now() - t0 };
    options.log(`10 s clip at ${manifest.defaults.steps} steps: ${clip10.wallMs.toFixed(0)} ms`);
  } finally {
    await runner.close();
  }

  let torch: InferenceRow[] = [];
  let torchInfo: InferenceResult['torchInfo'];
  try {
    const script = path.join(options.root, 'bench', 'torch_reference.py');
    const args = [script, '--batches', batches.join(','), '--steps', String(steps), '--threads', '2', '--sampler', manifest.defaults.sampler,
      '--cfg-scale', String(manifest.defaults.cfg_scale), '--seconds-total', String(secondsTotal), '--repeats', String(options.repeats)];
    const { stdout } = await run(options.python, args, { cwd: options.root, maxBuffer: 1 << 20, timeout: 30 * 60_000 });
    const parsed = JSON.parse(stdout.trim().split('\n').pop()!) as { results: Array<{ batch: number; sampling_s: number; decoding_s: number; wall_s: number }> } & Record<string, unknown>;
    torch = parsed.results.map((r) => ({
      batch: r.batch,
      stepMs: (r.sampling_s * 1000) / steps,
      decodeMs: r.decoding_s * 1000,
      wallMs: r.wall_s * 1000,
      realtimeFactor: (r.batch * secondsTotal) / r.wall_s,
    }));
    const { results: _results, ...info } = parsed;
    torchInfo = info;
    for (const row of torch) options.log(`torch batch ${row.batch}: ${row.stepMs.toFixed(1)} ms/step, RTF ${row.realtimeFactor.toFixed(2)}`);
  } catch (error) {
    torchInfo = { error: (error as Error).message.slice(0, 500) };
    options.log(`torch reference failed: ${torchInfo.error}`);
  }
  return {
    steps,
    sampler: manifest.defaults.sampler as SamplerName,
    cfgScale: manifest.defaults.cfg_scale,
    secondsTotal,
    onnx,
    torch,
    torchInfo,
    clip10,
    manifest,
  };
}
