import { ChorusApiError, ChorusClient } from '@chorus/client';
import { ConfigError, OUTPUT_FORMATS, SAMPLERS, parseEnv, type GenerationRequestBody, type GenerationResource } from '@chorus/contracts';
import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import { checkOutPath, outputFormatFor, writeAtomically } from '../output-file';
import { UsageError } from '../usage-error';

const envSchema = z.object({
  CHORUS_API_URL: z.string().url().default('http://127.0.0.1:3000'),
  CHORUS_API_KEY: z.string({ error: 'is required: the API key of your tenant (chorus tenants create NAME)' }).min(1),
});

interface SubmitOptions {
  prompt: string;
  negativePrompt?: string;
  secondsStart?: number;
  secondsTotal?: number;
  steps?: number;
  cfgScale?: number;
  sampler?: GenerationRequestBody['sampler'];
  seed?: number;
  format?: GenerationRequestBody['output_format'];
  priority?: number;
  webhookUrl?: string;
  idempotencyKey?: string;
  wait?: boolean;
  out?: string;
  json?: boolean;
}

/** `chorus submit --prompt … [--wait] [--out FILE]`: one generation on a running farm. */
export function register(program: Command): void {
  program
    .command('submit')
    .description('queue a generation on a running farm (CHORUS_API_URL, CHORUS_API_KEY)')
    .requiredOption('--prompt <text>', 'what to generate')
    .option('--negative-prompt <text>', 'what to steer away from')
    .option('--seconds-start <s>', 'timing conditioning: where the clip starts in a longer piece', parseNumber)
    .option('--seconds-total <s>', "length of the audio (at most the model's window; default the whole window)", parseNumber)
    .option('--steps <n>', "sampler steps (default: the model's)", parseNumber)
    .option('--cfg-scale <f>', "classifier-free guidance scale (default: the model's)", parseNumber)
    .addOption(new Option('--sampler <name>', "sampler (default: the model's)").choices(SAMPLERS))
    .option('--seed <n>', 'seed, 0 to 4294967295 (default: chosen by the farm and recorded)', parseNumber)
    .addOption(new Option('--format <format>', 'audio format (default: from the --out extension, else wav)').choices(OUTPUT_FORMATS))
    .option('--priority <level>', '1 (most urgent) to 10', parseNumber)
    .option('--webhook-url <url>', 'called when the generation ends')
    .option('--idempotency-key <key>', 'resubmitting with the same key returns the same generation')
    .option('--wait', 'follow progress until the generation ends')
    .option('--out <file>', 'wait, then download the audio to FILE')
    .option('--json', 'print the generation as JSON on stdout')
    .action(async (options: SubmitOptions) => {
      try {
        const env = parseEnv(envSchema);
        const client = new ChorusClient({ baseUrl: env.CHORUS_API_URL, apiKey: env.CHORUS_API_KEY });
        await submit(client, options);
      } catch (error) {
        if (error instanceof ConfigError) program.error(`chorus: ${error.message}`, { exitCode: 1 });
        if (error instanceof UsageError) program.error(`chorus: ${error.message}`, { exitCode: error.exitCode });
        if (error instanceof ChorusApiError) {
          const { problem } = error;
          const fields = problem.errors?.map((e) => `\n  ${e.field}: ${e.message}`).join('');
          program.error(`chorus: ${fields ? problem.title : error.message} (HTTP ${error.status})${fields ?? ''}`, { exitCode: 1 });
        }
        throw error;
      }
    });
}

async function submit(client: ChorusClient, options: SubmitOptions): Promise<void> {
  // Checked before submitting, as generate checks before sampling: a bad --out costs no compute or quota.
  const format = options.out ? outputFormatFor(options.format, options.out) : options.format;
  const out = options.out ? await checkOutPath(options.out) : undefined;
  const body: GenerationRequestBody = {
    prompt: options.prompt,
    negative_prompt: options.negativePrompt,
    seconds_start: options.secondsStart,
    seconds_total: options.secondsTotal,
    steps: options.steps,
    cfg_scale: options.cfgScale,
    sampler: options.sampler,
    seed: options.seed,
    output_format: format,
    priority: options.priority,
    webhook_url: options.webhookUrl,
  };
  let generation = await client.createGeneration(body, { idempotencyKey: options.idempotencyKey });
  process.stderr.write(`queued ${generation.id} (seed ${generation.seed}, ${generation.seconds_total} s, ${generation.steps} steps)\n`);

  if (options.wait || out) generation = await follow(client, generation);
  if (out && generation.status === 'succeeded') {
    await writeAtomically(out, await client.downloadAudio(generation.id));
    process.stderr.write(`wrote ${out} (${generation.audio?.bytes ?? '?'} bytes)\n`);
  }
  process.stdout.write(options.json ? `${JSON.stringify(generation)}\n` : `${generation.id} ${generation.status}\n`);
  if ((options.wait || out) && generation.status !== 'succeeded') {
    process.stderr.write(`generation ${generation.status}${generation.error ? `: ${generation.error}` : ''}\n`);
    process.exitCode = 1;
  }
}

/** Shows sampler progress on stderr until the generation ends. */
async function follow(client: ChorusClient, generation: GenerationResource): Promise<GenerationResource> {
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: '{status} [{bar}] {value}/{total} steps', stream: process.stderr, hideCursor: true })
    : null;
  bar?.start(generation.steps, 0, { status: generation.status });
  try {
    return await client.waitForGeneration(generation.id, ({ data }) => {
      bar?.update(Math.round(data.progress * generation.steps), { status: data.status });
    });
  } finally {
    bar?.stop();
  }
}

function parseNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError('must be a number');
  return number;
}
