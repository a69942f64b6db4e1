/**
 * `chorus generate`: runs the model in-process (its own inference thread), no services needed.
 * Every bad input stops before any audio is written, with one line naming the flag or file and what
 * is allowed; the file appears only complete (written beside the target, then renamed into place).
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LIMITS, ortEnvShape, OUTPUT_FORMATS, parseEnv, SAMPLERS, type OutputFormat, type SamplerName } from '@chorus/contracts';
import {
  InvalidRequestError,
  ModelLoadError,
  ModelRunner,
  encodeAudio,
  readManifest,
  validateGenerationRequest,
  type GenerationRequest,
  type ModelManifest,
  type WavBitDepth,
} from '@chorus/inference';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { checkOutPath, outputFormatFor, writeAtomically } from '../output-file';
import { DEFAULT_MODEL_DIR, packageRoot } from '../package-root';
import { UsageError } from '../usage-error';

interface GenerateOptions {
  prompt: string;
  negativePrompt?: string;
  secondsStart?: number;
  secondsTotal?: number;
  steps?: number;
  cfgScale?: number;
  sampler?: SamplerName;
  seed?: number;
  format?: OutputFormat;
  wavBitDepth?: WavBitDepth;
  model?: string;
  json?: boolean;
  out: string;
}

const FLAG_OF_FIELD: Record<string, string> = {
  prompt: '--prompt',
  negativePrompt: '--negative-prompt',
  secondsStart: '--seconds-start',
  secondsTotal: '--seconds-total',
  steps: '--steps',
  cfgScale: '--cfg-scale',
  sampler: '--sampler',
  seed: '--seed',
};

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate audio from a text prompt on this machine, with the model in-process (no services)')
    .requiredOption('--prompt <text>', `what to generate (at most ${LIMITS.promptMaxChars} characters)`)
    .option('--negative-prompt <text>', 'what to steer away from (replaces the unconditional branch of guidance)')
    .option('--seconds-start <s>', 'timing conditioning: where the clip starts in a longer piece (>= 0)', number('a number >= 0', (v) => v >= 0))
    .option('--seconds-total <s>', "length of the audio in seconds (default 10, at most the model's window)", number('a number > 0', (v) => v > 0))
    .option('--steps <n>', `sampler steps, ${LIMITS.stepsMin} to ${LIMITS.stepsMax} (default: the model's)`, integer(LIMITS.stepsMin, LIMITS.stepsMax))
    .option(
      '--cfg-scale <f>',
      `classifier-free guidance scale, ${LIMITS.cfgScaleMin} to ${LIMITS.cfgScaleMax} (default: the model's)`,
      number(`a number >= ${LIMITS.cfgScaleMin} and <= ${LIMITS.cfgScaleMax}`, (v) => v >= LIMITS.cfgScaleMin && v <= LIMITS.cfgScaleMax),
    )
    .addOption(new Option('--sampler <name>', "sampler (default: the model's)").choices(SAMPLERS))
    .option('--seed <n>', `seed, 0 to ${LIMITS.seedMax} (default: random, printed with --json)`, integer(0, LIMITS.seedMax))
    .addOption(new Option('--format <format>', 'audio format (default: from the --out extension, else wav)').choices(OUTPUT_FORMATS))
    .addOption(new Option('--wav-bit-depth <bits>', 'WAV sample format: 16, 24 (integer) or 32 (float)').choices(['16', '24', '32']).argParser(Number))
    .option('--model <dir>', `model folder (default: ${DEFAULT_MODEL_DIR} in the project)`)
    .option('--json', 'print seed, seconds_total, sample_rate, channels, steps, sampler and timings_ms as one JSON object')
    .requiredOption('--out <file>', 'where to write the audio')
    .action(async (options: GenerateOptions) => {
      try {
        await generate(options);
      } catch (error) {
        if (error instanceof UsageError) program.error(`chorus: ${error.message}`, { exitCode: error.exitCode });
        throw error;
      }
    });
}

async function generate(options: GenerateOptions): Promise<void> {
  const started = performance.now();
  // Ctrl-C at any point after this ends the run cleanly: no partial file, one line.
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await generateUntilAborted(options, started, abort.signal);
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') throw new UsageError('interrupted; nothing was written', 130);
    throw error;
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
}

async function generateUntilAborted(options: GenerateOptions, started: number, signal: AbortSignal): Promise<void> {
  const format = outputFormatFor(options.format, options.out);
  const out = await checkOutPath(options.out);
  const modelDir = options.model ? path.resolve(options.model) : path.join(packageRoot(), DEFAULT_MODEL_DIR);

  const manifest = await asUsage(() => readManifest(modelDir));
  const request = toRequest(manifest, options);

  // The engine reads no environment: the CLI, like the worker, reads ORT_* and passes them on.
  const ort = parseEnv(z.object(ortEnvShape));
  const runner = await asUsage(() => ModelRunner.start({ modelDir, executionProvider: ort.ORT_EXECUTION_PROVIDER, requireGpu: ort.ORT_REQUIRE_GPU }));
  if (runner.fallbackReason) process.stderr.write(`chorus: warning: ${runner.fallbackReason}\n`);
  const bar = process.stderr.isTTY
    ? new SingleBar({ stream: process.stderr, format: '{stage} [{bar}] {value}/{total} steps | {duration_formatted}', hideCursor: true })
    : undefined;
  try {
    bar?.start(request.steps, 0, { stage: 'sampling' });
    // After the last step the VAE decodes the whole window, which takes a moment on a CPU.
    const onProgress = (p: { step: number; steps: number }) => bar?.update(p.step, { stage: p.step === p.steps ? 'decoding' : 'sampling' });
    const audio = await runner.generate(request, { signal, onProgress });
    bar?.stop();

    const encodeStarted = performance.now();
    const bytes = await encodeAudio(audio, format, { wavBitDepth: options.wavBitDepth });
    const encoding = performance.now() - encodeStarted;
    signal.throwIfAborted();
    await writeAtomically(out, bytes);
    const total = performance.now() - started;

    if (options.json) {
      const ms = (v: number) => Math.round(v * 10) / 10;
      const report = {
        seed: audio.seed,
        seconds_total: request.secondsTotal,
        sample_rate: audio.sampleRate,
        channels: audio.channels.length,
        steps: request.steps,
        sampler: request.sampler,
        timings_ms: {
          load: ms(runner.loadMs),
          text_encoding: ms(audio.timingsMs.textEncoding),
          sampling: ms(audio.timingsMs.sampling),
          decoding: ms(audio.timingsMs.decoding),
          encoding: ms(encoding),
          total: ms(total),
        },
        frames: audio.frames,
        format,
        out,
        model: `${manifest.name}@${manifest.version}`,
        execution_provider: runner.executionProvider,
      };
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      const seconds = audio.frames / audio.sampleRate;
      process.stdout.write(
        `wrote ${out}: ${seconds.toFixed(2)} s, ${audio.sampleRate} Hz, ${audio.channels.length} channels, seed ${audio.seed} ` +
          `(${request.sampler}, ${request.steps} steps) in ${(total / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    bar?.stop();
    await runner.close();
  }
}

function toRequest(manifest: ModelManifest, o: GenerateOptions): GenerationRequest {
  try {
    return validateGenerationRequest(manifest, {
      prompt: o.prompt,
      negativePrompt: o.negativePrompt,
      secondsStart: o.secondsStart,
      secondsTotal: o.secondsTotal,
      steps: o.steps,
      cfgScale: o.cfgScale,
      sampler: o.sampler,
      seed: o.seed,
    });
  } catch (error) {
    if (error instanceof InvalidRequestError) {
      const flag = FLAG_OF_FIELD[error.field] ?? error.field;
      const got = error.received === undefined ? '' : `, got ${typeof error.received === 'string' ? JSON.stringify(error.received) : String(error.received)}`;
      throw new UsageError(`${flag} must be ${error.allowed}${got}`);
    }
    throw error;
  }
}

/** A model that cannot be loaded is the user's input, reported as one line naming the file. */
async function asUsage<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ModelLoadError) throw new UsageError(`--model: ${error.message}`);
    if (error instanceof Error && error.name === 'ExecutionProviderError') throw new UsageError(error.message);
    throw error;
  }
}

function parseDecimal(value: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
}

function number(allowed: string, ok: (v: number) => boolean) {
  return (value: string): number => {
    const v = parseDecimal(value);
    if (!Number.isFinite(v) || !ok(v)) throw new InvalidArgumentError(`must be ${allowed}.`);
    return v;
  };
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const v = parseDecimal(value);
    if (!Number.isInteger(v) || v < min || v > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}.`);
    return v;
  };
}
