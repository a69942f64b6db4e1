/**
 * One generation pass over a batch, on ONNX sessions held warm: text encoding and timing → sampling with
 * classifier-free guidance → VAE decode → trim and clamp. It blocks whatever thread runs it (session.run
 * does), so the farm runs it inside the inference thread (inference-thread.ts); tests may call it directly.
 */
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';
import { AbortError, ExecutionProviderError, InvalidRequestError } from './errors';
import type { GeneratedAudio, GenerationRequest } from './generation';
import { inputType, oneLine, openGraph, type ExecutionProviderName } from './graphs';
import { graphSpecs, readManifest, type ModelManifest } from './manifest';
import { fillNormals } from './philox';
import { SAMPLER_FUNCTIONS, isStochastic, type Denoiser } from './samplers';
import { sigmasFor, type ScheduleParams } from './schedules';
import { createTokenizer, type TextTokenizer } from './tokenizers';
import { TextFeatureCache, buildBatchConditioning, type BatchConditioning, type ItemConditioning, type TextFeatures } from './conditioning';
import { guidanceApplies, guide } from './guidance';
import { objectiveFor } from './objectives';

export interface PipelineOptions {
  executionProvider?: ExecutionProviderName;
  /** Refuse to run on the CPU when the GPU provider cannot start. */
  requireGpu?: boolean;
}

export interface PipelineItem {
  request: GenerationRequest;
  /** Polled between sampler steps. */
  isAborted?: () => boolean;
  onProgress?: (step: number, steps: number) => void;
}

export interface SampleOptions {
  /** Items already settled elsewhere: left out of the U-Net batch. */
  isDone?: (item: number) => boolean;
  /** Called once for an item whose `isAborted` turned true between two steps. */
  onAbort?: (item: number) => void;
  /** Overrides the manifest's schedule (the golden vectors exercise Karras too). */
  schedule?: Partial<ScheduleParams>;
  /** Overrides the manifest's `defaults.cfg_rescale` and `defaults.cfg_interval`. */
  guidance?: { cfgRescale?: number; cfgInterval?: readonly [number, number] };
  /** Called after every network pass with the number of rows it ran (a doubled batch when guiding). */
  onNetworkPass?: (rows: number) => void;
}

export type ItemOutcome = { ok: true; audio: GeneratedAudio } | { ok: false; error: Error };

interface Sessions {
  textEncoder: ort.InferenceSession;
  timing: ort.InferenceSession;
  unet: ort.InferenceSession;
  vaeDecoder: ort.InferenceSession;
}

interface DecodedAudio {
  /** [N, channels, samples] */
  data: Float32Array;
  samples: number;
}

/**
 * Latent frames one VAE pass may decode, in windows. Measured on 2 CPU cores, 8 full windows: in one pass the
 * decode peaked 563 MiB above idle, in passes of two windows 218 MiB, for 3 % more CPU (bench/PROFILE.md).
 */
const DECODE_WINDOWS_PER_PASS = 2;

/** Sampling stopped because every item of the batch was aborted. */
class AllAborted extends Error {}

export class GenerationPipeline {
  private readonly textCache = new TextFeatureCache();
  private readonly maskType?: ort.Tensor.Type;

  private constructor(
    readonly manifest: ModelManifest,
    private readonly sessions: Sessions,
    private readonly tokenizer: TextTokenizer,
    readonly executionProvider: ExecutionProviderName,
    readonly loadMs: number,
    /** Why the requested provider was not used, when it was not. */
    readonly fallbackReason?: string,
  ) {
    const maskInput = manifest.diffusion.inputs.cross_attn_mask;
    if (maskInput) this.maskType = inputType(sessions.unet, maskInput) ?? 'float32';
  }

  static async load(modelDir: string, opts: PipelineOptions = {}): Promise<GenerationPipeline> {
    const started = performance.now();
    const requested = opts.executionProvider ?? 'cpu';
    if (opts.requireGpu && requested !== 'cuda') {
      throw new ExecutionProviderError(`a GPU is required (ORT_REQUIRE_GPU) but the execution provider is "${requested}"; set ORT_EXECUTION_PROVIDER=cuda`);
    }
    const manifest = await readManifest(modelDir);
    const tokenizer = await createTokenizer(manifest, modelDir);
    let provider: ExecutionProviderName = requested;
    let fallbackReason: string | undefined;
    let sessions: Sessions;
    try {
      sessions = await openSessions(modelDir, manifest, requested);
    } catch (error) {
      if (requested !== 'cuda') throw error;
      const reason = oneLine(error);
      if (opts.requireGpu) {
        throw new ExecutionProviderError(
          `the CUDA execution provider cannot start (${reason}); on a GPU host run ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node`,
        );
      }
      sessions = await openSessions(modelDir, manifest, 'cpu');
      provider = 'cpu';
      fallbackReason = `CUDA unavailable, running on the CPU: ${reason}`;
    }
    return new GenerationPipeline(manifest, sessions, tokenizer, provider, performance.now() - started, fallbackReason);
  }

  async release(): Promise<void> {
    await Promise.all(Object.values(this.sessions).map((s: ort.InferenceSession) => s.release()));
  }

  /**
   * Generates every item. Items must share sampler and steps (they share one sigma schedule and one
   * U-Net pass per step); each keeps its own seed, cfg scale, timing and negative prompt. `settle` is
   * called once per item, as soon as its outcome is known.
   */
  async run(items: PipelineItem[], settle: (index: number, outcome: ItemOutcome) => void): Promise<void> {
    const settled = new Set<number>();
    const finish = (i: number, outcome: ItemOutcome) => {
      if (settled.has(i)) return;
      settled.add(i);
      settle(i, outcome);
    };
    const live = () => items.map((_, i) => i).filter((i) => !settled.has(i));
    const abortCheck = () => {
      for (const i of live()) if (items[i].isAborted?.()) finish(i, { ok: false, error: new AbortError() });
    };
    try {
      abortCheck();
      if (live().length === 0) return;
      const t0 = performance.now();
      const conditioning = await this.encodeConditioning(live().map((i) => items[i].request));
      const condByItem = new Map(live().map((i, k) => [i, conditioning[k]]));
      const textEncoding = performance.now() - t0;

      const t1 = performance.now();
      const latents = await this.sampleLatents(
        items.map((item, i) => ({ ...item, conditioning: condByItem.get(i) })),
        { isDone: (i) => settled.has(i), onAbort: (i) => finish(i, { ok: false, error: new AbortError() }) },
      );
      const sampling = performance.now() - t1;

      abortCheck();
      const decodeItems = live();
      if (decodeItems.length === 0) return;
      const t2 = performance.now();
      for (const pass of this.decodePasses(decodeItems.map((i) => ({ i, frames: this.decodeFrames(items[i].request) })))) {
        const audio = await this.decode(
          pass.map(({ i }) => latents.subarray(i * this.latentSize, (i + 1) * this.latentSize)),
          Math.max(...pass.map((p) => p.frames)),
        );
        const decoding = performance.now() - t2;
        pass.forEach(({ i }, k) => finish(i, { ok: true, audio: this.trim(audio, k, items[i].request, { textEncoding, sampling, decoding }) }));
      }
    } catch (error) {
      if (error instanceof AllAborted) return;
      for (const i of live()) finish(i, { ok: false, error: error as Error });
    }
  }

  get latentSize(): number {
    return this.manifest.latent_channels * this.manifest.window_frames;
  }

  /** Text features (cached per prompt), timing tokens and global conditioning for each request. */
  async encodeConditioning(requests: GenerationRequest[]): Promise<ItemConditioning[]> {
    const prompts = new Set<string>();
    for (const r of requests) {
      prompts.add(r.prompt);
      if (r.negativePrompt) prompts.add(r.negativePrompt);
    }
    const known = new Map<string, TextFeatures>();
    for (const p of prompts) {
      const hit = this.textCache.get(p);
      if (hit) known.set(p, hit);
    }
    const encoded = await this.encodeText([...prompts].filter((p) => !known.has(p)));
    const text = (p: string) => (known.get(p) ?? encoded.get(p)) as TextFeatures;

    const { timing } = this.manifest;
    const b = requests.length;
    const feeds: Record<string, ort.Tensor> = {
      [timing.inputs.seconds_total]: new ort.Tensor('float32', Float32Array.from(requests, (r) => r.secondsTotal), [b]),
    };
    if (timing.inputs.seconds_start) {
      feeds[timing.inputs.seconds_start] = new ort.Tensor('float32', Float32Array.from(requests, (r) => r.secondsStart), [b]);
    }
    const out = await this.sessions.timing.run(feeds);
    const tokens = out[timing.outputs.tokens].data as Float32Array;
    const global = out[timing.outputs.global].data as Float32Array;
    const tokenSize = tokens.length / b;
    const globalSize = global.length / b;
    return requests.map((r, i) => ({
      text: text(r.prompt),
      ...(r.negativePrompt && { negativeText: text(r.negativePrompt) }),
      timingTokens: tokens.slice(i * tokenSize, (i + 1) * tokenSize),
      globalCond: global.slice(i * globalSize, (i + 1) * globalSize),
    }));
  }

  private async encodeText(prompts: string[]): Promise<Map<string, TextFeatures>> {
    const result = new Map<string, TextFeatures>();
    if (prompts.length === 0) return result;
    const { inputs, outputs, dim } = this.manifest.text_encoder;
    const t = this.tokenizer.maxLength;
    const b = prompts.length;
    const encoded = prompts.map((p) => this.tokenizer.encode(p));
    const ids = new BigInt64Array(b * t);
    const mask = new BigInt64Array(b * t);
    const numbers = new Float32Array(b * t);
    encoded.forEach((e, i) => {
      ids.set(e.ids, i * t);
      mask.set(e.mask, i * t);
      if (e.numbers) numbers.set(e.numbers, i * t);
    });
    const feeds: Record<string, ort.Tensor> = {
      [inputs.ids]: new ort.Tensor('int64', ids, [b, t]),
      [inputs.mask]: new ort.Tensor('int64', mask, [b, t]),
    };
    if (inputs.numbers) feeds[inputs.numbers] = new ort.Tensor('float32', numbers, [b, t]);
    const features = (await this.sessions.textEncoder.run(feeds))[outputs.features].data as Float32Array;
    prompts.forEach((p, i) => {
      const text = { features: features.slice(i * t * dim, (i + 1) * t * dim), mask: Float32Array.from(encoded[i].mask, Number) };
      this.textCache.set(p, text);
      result.set(p, text);
    });
    return result;
  }

  /**
   * Runs the sampler over the whole batch and returns the final latents [N, C, L]. Items whose
   * `isDone(i)` is true (already settled) or that abort are dropped from the U-Net batch; the others
   * are unaffected, because every item has its own noise streams and its own conditioning rows.
   */
  async sampleLatents(items: Array<PipelineItem & { conditioning?: ItemConditioning }>, opts: SampleOptions = {}): Promise<Float32Array> {
    const { isDone = () => false, onAbort = () => {}, schedule, onNetworkPass } = opts;
    const m = this.manifest;
    const { sampler, steps } = items[0].request;
    for (const { request } of items) {
      if (request.sampler !== sampler) throw new InvalidRequestError('sampler', `the same for every item of a batch (${sampler})`, request.sampler);
      if (request.steps !== steps) throw new InvalidRequestError('steps', `the same for every item of a batch (${steps})`, request.steps);
    }
    const sigmas = sigmasFor({
      schedule: m.defaults.schedule,
      sigmaMin: m.defaults.sigma_min,
      sigmaMax: m.defaults.sigma_max,
      rho: m.defaults.rho,
      distShift: m.defaults.dist_shift,
      latentLength: m.window_frames,
      ...schedule,
      steps,
    });
    const objective = objectiveFor(m.diffusion.objective);
    const uncond = m.diffusion.uncond;
    const cfgRescale = opts.guidance?.cfgRescale ?? m.defaults.cfg_rescale;
    const cfgInterval = opts.guidance?.cfgInterval ?? m.defaults.cfg_interval;
    const size = this.latentSize;
    const n = items.length;
    const conditioning = items.map((it) => it.conditioning);
    const missing = items.map((_, i) => i).filter((i) => !conditioning[i] && !isDone(i));
    if (missing.length > 0) {
      const encoded = await this.encodeConditioning(missing.map((i) => items[i].request));
      missing.forEach((i, k) => (conditioning[i] = encoded[k]));
    }

    const x = new Float32Array(n * size);
    const startScale = objective.startScale(sigmas[0]);
    items.forEach((it, i) => {
      const row = x.subarray(i * size, (i + 1) * size);
      fillNormals(it.request.seed, 0, row);
      for (let k = 0; k < size; k++) row[k] *= startScale;
    });

    let active = items.map((_, i) => i).filter((i) => !isDone(i));
    if (active.length === 0) throw new AllAborted();
    // Network batches by which active items run an unconditional row, built once per shape.
    let batches = new Map<string, ReturnType<GenerationPipeline['unetBatch']>>();
    const batchFor = (guided: boolean[]) => {
      const key = guided.map(Number).join('');
      let batch = batches.get(key);
      if (!batch) batches.set(key, (batch = this.unetBatch(active, conditioning, guided)));
      return batch;
    };

    const unguided = m.diffusion.unguided_channels ?? [];
    const { latent_channels: channels, window_frames: frames } = m;
    const denoise: Denoiser = async (xAll, sigma) => {
      const denoised = Float32Array.from(xAll); // dropped items stay where they are
      // zero_text keeps chorus-tiny's arithmetic: always both branches, guidance on the denoised estimate.
      const guided =
        uncond === 'zero_text'
          ? active.map(() => true)
          : active.map((i) => guidanceApplies(items[i].request.cfgScale, cfgInterval, objective.guidanceSigma(sigma)));
      const batch = batchFor(guided);
      const rows = active.length;
      const uncondRow: number[] = [];
      active.forEach((i, k) => {
        const xi = xAll.subarray(i * size, (i + 1) * size);
        objective.networkInput(xi, sigma, batch.x.subarray(k * size, (k + 1) * size));
        if (guided[k]) {
          const row = rows + uncondRow.length;
          uncondRow[k] = row;
          batch.x.copyWithin(row * size, k * size, (k + 1) * size);
        }
      });
      batch.t.fill(objective.networkTime(sigma));
      const out = (await this.sessions.unet.run(batch.feeds))[m.diffusion.outputs.v].data as Float32Array;
      onNetworkPass?.(batch.rows);
      active.forEach((i, k) => {
        const cfgScale = items[i].request.cfgScale;
        const xi = xAll.subarray(i * size, (i + 1) * size);
        const result = denoised.subarray(i * size, (i + 1) * size);
        const cond = out.subarray(k * size, (k + 1) * size);
        if (uncond === 'zero_text') {
          const u = uncondRow[k];
          const dCond = objective.denoised(xi, cond, sigma);
          const dUncond = objective.denoised(xi, out.subarray(u * size, (u + 1) * size), sigma);
          for (let j = 0; j < size; j++) result[j] = dUncond[j] + cfgScale * (dCond[j] - dUncond[j]);
          for (const c of unguided) result.set(dCond.subarray(c * frames, (c + 1) * frames), c * frames);
        } else if (guided[k]) {
          const u = uncondRow[k];
          const output = guide(cond, out.subarray(u * size, (u + 1) * size), channels, frames, { cfgScale, cfgRescale });
          for (const c of unguided) output.set(cond.subarray(c * frames, (c + 1) * frames), c * frames);
          objective.denoised(xi, output, sigma, result);
        } else {
          objective.denoised(xi, cond, sigma, result);
        }
      });
      return denoised;
    };

    const noise = (step: number) => {
      const z = new Float32Array(n * size);
      for (const i of active) fillNormals(items[i].request.seed, 1 + step, z.subarray(i * size, (i + 1) * size));
      return z;
    };

    const onStep = (step: number, total: number) => {
      const before = active.length;
      for (const i of active) if (items[i].isAborted?.()) onAbort(i);
      active = active.filter((i) => !isDone(i) && !items[i].isAborted?.());
      if (active.length === 0) throw new AllAborted();
      if (active.length !== before) batches = new Map();
      for (const i of active) items[i].onProgress?.(step, total);
    };

    return SAMPLER_FUNCTIONS[sampler](denoise, x, sigmas, { ...(isStochastic(sampler) && { noise }), onStep });
  }

  /**
   * Network input buffers and tensors for a set of active items: their conditional rows, then an unconditional
   * row for each item whose `guided` entry is true.
   */
  private unetBatch(active: number[], conditioning: Array<ItemConditioning | undefined>, guided: boolean[]) {
    const m = this.manifest;
    const items = active.map((i) => conditioning[i] as ItemConditioning);
    const cond: BatchConditioning = buildBatchConditioning(items, this.tokenizer.maxLength, m.text_encoder.dim, items[0].globalCond.length, {
      uncond: m.diffusion.uncond,
      guided,
    });
    const rows = cond.rows;
    const x = new Float32Array(rows * this.latentSize);
    const t = new Float32Array(rows);
    const inputs = m.diffusion.inputs;
    const feeds: Record<string, ort.Tensor> = {
      [inputs.x]: new ort.Tensor('float32', x, [rows, m.latent_channels, m.window_frames]),
      [inputs.t]: new ort.Tensor('float32', t, [rows]),
      [inputs.cross_attn_cond]: new ort.Tensor('float32', cond.crossAttnCond, [rows, cond.tokens, m.text_encoder.dim]),
      [inputs.global_cond]: new ort.Tensor('float32', cond.globalCond, [rows, cond.globalCond.length / rows]),
    };
    if (inputs.cross_attn_mask) feeds[inputs.cross_attn_mask] = maskTensor(cond.crossAttnMask, this.maskType ?? 'float32', [rows, cond.tokens]);
    return { rows, x, t, feeds };
  }

  /**
   * Latent frames to decode for a request: those that cover its seconds_total plus the decoder's lookahead
   * (at least its min_frames), so the samples kept are those of a full-window decode. The whole window for
   * keepWindow, or when the manifest does not say how far the decoder looks ahead.
   */
  decodeFrames(request: GenerationRequest): number {
    const { window_frames: window, sample_rate: rate, downsampling_ratio: ratio, vae } = this.manifest;
    const { lookahead_frames: lookahead, min_frames: minFrames = 1 } = vae.decoder;
    if (request.keepWindow || lookahead === undefined) return window;
    const needed = Math.ceil(Math.round(request.secondsTotal * rate) / ratio) + lookahead;
    return Math.min(window, Math.max(minFrames, needed));
  }

  /**
   * Items grouped into VAE passes of at most DECODE_WINDOWS_PER_PASS windows of latent frames, shortest first,
   * so a big batch of long clips does not decode all at once (a pass's memory grows with items × frames).
   */
  private decodePasses<T extends { frames: number }>(entries: T[]): T[][] {
    const budget = DECODE_WINDOWS_PER_PASS * this.manifest.window_frames;
    const passes: T[][] = [];
    for (const entry of [...entries].sort((a, b) => a.frames - b.frames)) {
      const last = passes.at(-1);
      // Sorted, so this entry's frames are the most in its pass.
      if (last && (last.length + 1) * entry.frames <= budget) last.push(entry);
      else passes.push([entry]);
    }
    return passes;
  }

  /** Decodes the first `frames` latent frames of each latent [C, L] into audio [N, channels, samples] in one VAE pass. */
  async decode(latents: Float32Array[], frames = this.manifest.window_frames): Promise<DecodedAudio> {
    const m = this.manifest;
    const n = latents.length;
    const batch = new Float32Array(n * m.latent_channels * frames);
    latents.forEach((l, i) => {
      for (let c = 0; c < m.latent_channels; c++) {
        const row = c * m.window_frames;
        batch.set(l.subarray(row, row + frames), (i * m.latent_channels + c) * frames);
      }
    });
    const out = await this.sessions.vaeDecoder.run({
      [m.vae.decoder.inputs.latent]: new ort.Tensor('float32', batch, [n, m.latent_channels, frames]),
    });
    const audio = out[m.vae.decoder.outputs.audio];
    const [, channels, samples] = audio.dims;
    if (channels !== m.channels) throw new Error(`the VAE decoder gave ${channels} channels, model.json says ${m.channels}`);
    return { data: audio.data as Float32Array, samples };
  }

  /** The first round(seconds_total · rate) frames of item k, clamped to [−1, 1], one array per channel. */
  private trim(audio: DecodedAudio, k: number, request: GenerationRequest, timingsMs: GeneratedAudio['timingsMs']): GeneratedAudio {
    const m = this.manifest;
    const frames = request.keepWindow ? audio.samples : Math.min(audio.samples, Math.round(request.secondsTotal * m.sample_rate));
    const channels: Float32Array[] = [];
    for (let c = 0; c < m.channels; c++) {
      const start = (k * m.channels + c) * audio.samples;
      const channel = audio.data.slice(start, start + frames);
      for (let j = 0; j < frames; j++) {
        const v = channel[j];
        channel[j] = v > 1 ? 1 : v < -1 ? -1 : v === v ? v : 0;
      }
      channels.push(channel);
    }
    return { channels, sampleRate: m.sample_rate, frames, seed: request.seed, timingsMs };
  }
}

async function openSessions(modelDir: string, manifest: ModelManifest, provider: ExecutionProviderName): Promise<Sessions> {
  const options: ort.InferenceSession.SessionOptions = { executionProviders: [provider] };
  const opened: ort.InferenceSession[] = [];
  try {
    for (const spec of graphSpecs(manifest)) opened.push(await openGraph(modelDir, spec, options));
  } catch (error) {
    await Promise.all(opened.map((s) => s.release()));
    throw error;
  }
  const [textEncoder, timing, unet, vaeDecoder] = opened;
  return { textEncoder, timing, unet, vaeDecoder };
}

function maskTensor(mask: Float32Array, type: ort.Tensor.Type, dims: number[]): ort.Tensor {
  switch (type) {
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(mask, (v) => BigInt(v)), dims);
    case 'int32':
      return new ort.Tensor('int32', Int32Array.from(mask), dims);
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(mask), dims);
    default:
      return new ort.Tensor('float32', mask, dims);
  }
}
