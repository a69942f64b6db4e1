/**
 * The model manifest, `model.json` (docs/model-contract.md). Field names stay as the file spells
 * them, so the JSON, the Python exporter and this type use one vocabulary.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OBJECTIVES, SAMPLERS, samplersForObjective } from '@chorus/contracts';
import { ModelLoadError } from './errors';
import { RF_SCHEDULES, V_SCHEDULES } from './schedules';

const graphFile = z.string().min(1).refine((f) => !path.isAbsolute(f) && !f.split(/[\\/]/).includes('..'), {
  message: 'must be a file name inside the model folder',
});
const ioName = z.string().min(1);
const range = z
  .object({ min: z.number().finite(), max: z.number().finite() })
  .refine((r) => r.min <= r.max, { message: 'min must be <= max' });
const positiveInt = z.number().int().positive();

export const modelManifestSchema = z
  .object({
    name: z.string().min(1),
    version: z.string().min(1),
    sample_rate: positiveInt,
    channels: positiveInt,
    latent_channels: positiveInt,
    downsampling_ratio: positiveInt,
    window_frames: positiveInt,
    tokenizer: z.object({
      kind: z.enum(['byte', 'hf']),
      file: graphFile.nullable().default(null),
      max_length: positiveInt,
      numeric_features: z.boolean().default(false),
    }),
    text_encoder: z.object({
      file: graphFile,
      dim: positiveInt,
      inputs: z.object({ ids: ioName, mask: ioName, numbers: ioName.optional() }),
      outputs: z.object({ features: ioName }),
    }),
    timing: z.object({
      file: graphFile,
      /** Absent when the model has no seconds_start conditioning (SAO Small): the graph then takes seconds_total only. */
      seconds_start: range.optional(),
      seconds_total: range,
      inputs: z.object({ seconds_start: ioName.optional(), seconds_total: ioName }),
      outputs: z.object({ tokens: ioName, global: ioName }),
    }),
    diffusion: z.object({
      file: graphFile,
      objective: z.enum(OBJECTIVES),
      /** Absent cross_attn_mask: the graph takes no mask (stable-audio-tools' DiT attends to every token). */
      inputs: z.object({ x: ioName, t: ioName, cross_attn_cond: ioName, cross_attn_mask: ioName.optional(), global_cond: ioName }),
      outputs: z.object({ v: ioName }),
      /**
       * What the unconditional branch of classifier-free guidance sees (docs/model-contract.md, "Conditioning"):
       * `zero_text`, chorus-tiny's; `zero_all_tokens`, stable-audio-tools'.
       */
      uncond: z.enum(['zero_text', 'zero_all_tokens']).default('zero_text'),
      /**
       * Latent channels that take the conditional estimate instead of classifier-free guidance: channels the
       * model sets from the prompt directly (chorus-tiny's measured pitch), where extrapolating away from the
       * unconditional estimate means nothing. Absent: every channel is guided.
       */
      unguided_channels: z.array(z.number().int().min(0)).optional(),
    }),
    vae: z.object({
      decoder: z.object({
        file: graphFile,
        inputs: z.object({ latent: ioName }),
        outputs: z.object({ audio: ioName }),
        /**
         * Latent frames past a sample that the decoder looks at to produce it (its receptive field to the right).
         * When given, only the frames that cover seconds_total plus these are decoded; when absent, the whole window.
         */
        lookahead_frames: z.number().int().min(0).optional(),
        /**
         * The shortest latent length to decode when decoding less than the window. onnxruntime's CPU kernels
         * round differently below some lengths, and a decoder that accumulates phase amplifies that past 1e-4.
         */
        min_frames: positiveInt.optional(),
      }),
      encoder: z
        .object({ file: graphFile, inputs: z.object({ audio: ioName }), outputs: z.object({ latent: ioName }) })
        .optional(),
    }),
    defaults: z.object({
      steps: positiveInt,
      sampler: z.enum(SAMPLERS),
      cfg_scale: z.number().finite().min(0),
      /** Upstream `scale_phi`. */
      cfg_rescale: z.number().min(0).max(1).default(0),
      /** Guidance runs only at steps whose noise level (`guidanceSigma`) lies in [lo, hi]. */
      cfg_interval: z
        .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
        .refine(([lo, hi]) => lo <= hi, { message: 'must be [lo, hi] with lo <= hi' })
        .default([0, 1]),
      schedule: z.enum([...V_SCHEDULES, ...RF_SCHEDULES]),
      /** polyexponential and karras only. */
      sigma_min: z.number().positive().optional(),
      sigma_max: z.number().positive(),
      /** polyexponential and karras only. */
      rho: z.number().positive().optional(),
      /** rf_linear only: stable-audio-tools' `distribution_shift_options`, upstream's defaults filled in. */
      dist_shift: z
        .object({
          base_shift: z.number().finite().default(0.5),
          max_shift: z.number().finite().default(1.15),
          min_length: positiveInt.default(256),
          max_length: positiveInt.default(4096),
          use_sine: z.boolean().default(false),
        })
        .refine((d) => d.min_length < d.max_length, { message: 'min_length must be < max_length' })
        .optional(),
    }),
  })
  .superRefine((m, ctx) => {
    if (m.tokenizer.kind === 'hf' && !m.tokenizer.file) {
      ctx.addIssue({ code: 'custom', path: ['tokenizer', 'file'], message: 'is required when tokenizer.kind is "hf"' });
    }
    if (m.tokenizer.numeric_features && m.tokenizer.kind !== 'byte') {
      ctx.addIssue({ code: 'custom', path: ['tokenizer', 'numeric_features'], message: 'is only supported with tokenizer.kind "byte"' });
    }
    if (m.tokenizer.numeric_features && !m.text_encoder.inputs.numbers) {
      ctx.addIssue({ code: 'custom', path: ['text_encoder', 'inputs', 'numbers'], message: 'is required when tokenizer.numeric_features is true' });
    }
    if ((m.timing.seconds_start === undefined) !== (m.timing.inputs.seconds_start === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['timing', 'seconds_start'], message: 'and timing.inputs.seconds_start must be both present or both absent' });
    }
    const { objective } = m.diffusion;
    const d = m.defaults;
    const samplers = samplersForObjective(objective);
    if (!samplers.includes(d.sampler)) {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'sampler'], message: `must be one of ${samplers.join(', ')} for objective "${objective}"` });
    }
    const schedules: readonly string[] = objective === 'v' ? V_SCHEDULES : RF_SCHEDULES;
    if (!schedules.includes(d.schedule)) {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'schedule'], message: `must be one of ${schedules.join(', ')} for objective "${objective}"` });
    }
    if (objective === 'v') {
      if (d.sigma_min === undefined) ctx.addIssue({ code: 'custom', path: ['defaults', 'sigma_min'], message: `is required by schedule "${d.schedule}"` });
      if (d.rho === undefined) ctx.addIssue({ code: 'custom', path: ['defaults', 'rho'], message: `is required by schedule "${d.schedule}"` });
      if (d.sigma_min !== undefined && d.sigma_min > d.sigma_max) {
        ctx.addIssue({ code: 'custom', path: ['defaults', 'sigma_min'], message: 'must be <= defaults.sigma_max' });
      }
    } else if (d.sigma_max > 1) {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'sigma_max'], message: `must be <= 1 for objective "${objective}" (a flow time)` });
    }
    if (d.dist_shift && d.schedule !== 'rf_linear') {
      ctx.addIssue({ code: 'custom', path: ['defaults', 'dist_shift'], message: 'applies only to schedule "rf_linear" (upstream sample_rf ignores it)' });
    }
    if (m.diffusion.uncond === 'zero_text') {
      if (d.cfg_rescale !== 0) {
        ctx.addIssue({ code: 'custom', path: ['defaults', 'cfg_rescale'], message: 'must be 0 with diffusion.uncond "zero_text" (rescale is stable-audio-tools\' "zero_all_tokens" guidance)' });
      }
      if (d.cfg_interval[0] !== 0 || d.cfg_interval[1] !== 1) {
        ctx.addIssue({ code: 'custom', path: ['defaults', 'cfg_interval'], message: 'must be [0, 1] with diffusion.uncond "zero_text"' });
      }
    }
  });

export type ModelManifest = z.infer<typeof modelManifestSchema>;

export const MANIFEST_FILE = 'model.json';

/** One ONNX graph named by the manifest, with the input/output names the manifest expects of it. */
export interface GraphSpec {
  /** Where in model.json it is described, e.g. `diffusion`. */
  key: string;
  file: string;
  inputs: Record<string, string>;
  outputs: Record<string, string>;
}

/** The graphs a generation needs (the VAE encoder, used for audio-to-audio and training, is optional). */
export function graphSpecs(m: ModelManifest): GraphSpec[] {
  const specs: GraphSpec[] = [
    { key: 'text_encoder', file: m.text_encoder.file, inputs: definedOnly(m.text_encoder.inputs), outputs: m.text_encoder.outputs },
    { key: 'timing', file: m.timing.file, inputs: definedOnly(m.timing.inputs), outputs: m.timing.outputs },
    { key: 'diffusion', file: m.diffusion.file, inputs: definedOnly(m.diffusion.inputs), outputs: m.diffusion.outputs },
    { key: 'vae.decoder', file: m.vae.decoder.file, inputs: m.vae.decoder.inputs, outputs: m.vae.decoder.outputs },
  ];
  return specs;
}

/** Seconds of audio in the model's fixed latent window (exact; 11.8884… s for chorus-tiny). */
export function windowSeconds(m: ModelManifest): number {
  return (m.window_frames * m.downsampling_ratio) / m.sample_rate;
}

/**
 * The one rule for the shortest and longest `seconds_total`, shared by the API, the worker and the
 * CLI: from one latent frame (the model's time resolution) rounded up to 0.01 s, to the window
 * (capped by the timing conditioner's range) rounded down to 0.01 s. Both bounds are shown and
 * checked as these exact figures (0.05 and 11.88 for chorus-tiny), so the printed limit is itself allowed.
 */
export function secondsTotalRange(m: ModelManifest): { min: number; max: number } {
  const frameSeconds = m.downsampling_ratio / m.sample_rate;
  const longest = Math.min(windowSeconds(m), m.timing.seconds_total.max);
  // The epsilon keeps a bound that is already a whole number of hundredths (11.88 * 100 = 1187.999…) where it is.
  const min = Math.ceil(Math.max(frameSeconds, m.timing.seconds_total.min) * 100 - 1e-9) / 100;
  const max = Math.floor(longest * 100 + 1e-9) / 100;
  return { min, max };
}

/**
 * Reads and validates `model.json` and checks that every file it names exists. Does not open the
 * graphs; `loadManifest` (and the inference thread) also check their input and output names.
 */
export async function readManifest(modelDir: string): Promise<ModelManifest> {
  const dir = path.resolve(modelDir);
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat) throw new ModelLoadError(`model folder ${dir} does not exist`, dir);
  if (!dirStat.isDirectory()) throw new ModelLoadError(`model folder ${dir} is not a folder`, dir);

  const file = path.join(dir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ModelLoadError(`${file}: missing; a model folder needs a ${MANIFEST_FILE} beside its graphs`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelLoadError(`${file}: not valid JSON (${(error as Error).message})`, file);
  }
  const parsed = modelManifestSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new ModelLoadError(`${file}: ${problems.join('; ')}`, file);
  }
  const manifest = parsed.data;

  const named = graphSpecs(manifest).map((g) => ({ key: `${g.key}.file`, file: g.file }));
  if (manifest.tokenizer.file) named.push({ key: 'tokenizer.file', file: manifest.tokenizer.file });
  for (const { key, file: name } of named) {
    const full = path.join(dir, name);
    const s = await stat(full).catch(() => undefined);
    if (!s?.isFile()) throw new ModelLoadError(`${full}: missing (named by ${key} in ${MANIFEST_FILE})`, full);
  }
  return manifest;
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}
