import { spawn } from 'node:child_process';
import path from 'node:path';
import { Command, Option } from 'commander';
import { packageRoot } from '../package-root';

/** The Python the importer runs on: Debian's, with python3-torch (README, "Serving Stable Audio Open"). */
const PYTHON = process.env.CHORUS_PYTHON || '/usr/bin/python3';

interface ImportOptions {
  from: string;
  config: string;
  checkpoint: string;
  textEncoder: string;
  out: string;
  precision: string;
  name?: string;
}

/**
 * `chorus models import …`: a thin wrapper around models/importer/import_sat.py, which does the conversion
 * (config checks, checkpoint reading, ONNX export, model.json). Its stdout, stderr and exit status pass through.
 */
export function register(program: Command): void {
  const models = program.command('models').description('manage model folders');

  models
    .command('import')
    .description('convert a stable-audio-tools checkpoint (Stable Audio Open 1.0 or Small) into a Chorus model folder')
    .addOption(new Option('--from <format>', 'checkpoint format').choices(['stable-audio-tools']).makeOptionMandatory())
    .requiredOption('--config <file>', "the model's model_config.json")
    .requiredOption('--checkpoint <file>', 'model.safetensors or model.ckpt')
    .requiredOption('--text-encoder <dir>', 'Hugging Face T5 folder (t5-base: config.json, model.safetensors, tokenizer.json)')
    .requiredOption('--out <dir>', 'model folder to write, e.g. models/sao-small')
    .addOption(new Option('--precision <precision>', 'weight precision of the graphs').choices(['fp32', 'fp16']).default('fp32'))
    .option('--name <name>', "model name in model.json (default: the --out folder's name)")
    .action(async (options: ImportOptions) => {
      const script = path.join(packageRoot(), 'models/importer/import_sat.py');
      const args = [script, '--from', options.from, '--config', options.config, '--checkpoint', options.checkpoint,
        '--text-encoder', options.textEncoder, '--out', options.out, '--precision', options.precision];
      if (options.name) args.push('--name', options.name);
      const code = await new Promise<number>((resolve) => {
        const child = spawn(PYTHON, args, { stdio: 'inherit' });
        child.on('error', (error: NodeJS.ErrnoException) => {
          process.stderr.write(error.code === 'ENOENT'
            ? `chorus models import: ${PYTHON} not found; install Debian's python3-torch and libopenblas0-pthread (or set CHORUS_PYTHON)\n`
            : `chorus models import: cannot start ${PYTHON}: ${error.message}\n`);
          resolve(1);
        });
        child.on('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0)));
      });
      process.exitCode = code;
    });
}
