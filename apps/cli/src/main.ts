/**
 * `chorus`: the command line. Each command lives in commands/<name>.ts and registers itself here.
 * bin/chorus.js loads the compiled form of this file.
 */
import { Command } from 'commander';
import { register as registerBatch } from './commands/batch';
import { register as registerGenerate } from './commands/generate';
import { register as registerModels } from './commands/models';
import { register as registerSubmit } from './commands/submit';
import { register as registerTenants } from './commands/tenants';
import { register as registerTenantLimits } from './commands/tenants-limits';

const program = new Command('chorus')
  .description('Chorus: text-to-audio latent diffusion, from one command or a whole render farm');

registerGenerate(program);
registerTenants(program);
// After registerTenants: it adds `limits` to the `tenants` command.
registerTenantLimits(program);
registerSubmit(program);
registerBatch(program);
registerModels(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`chorus: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
