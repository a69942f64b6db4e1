/**
 * `chorus`: the command line. Each command lives in commands/<name>.ts and registers itself here.
 * bin/chorus.js loads the compiled form of this file.
 */
import { Command } from 'commander';
import { register as registerGenerate } from './commands/generate';

const program = new Command('chorus')
  .description('Chorus: text-to-audio latent diffusion, from one command or a whole render farm');

registerGenerate(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`chorus: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
