import { existsSync } from 'node:fs';
import path from 'node:path';

// End-to-end tests start the compiled apps; `npm test` builds first (the `pretest` script).
export default function globalSetup(): void {
  const cli = path.resolve(__dirname, '../../dist/apps/cli/src/main.js');
  if (!existsSync(cli)) {
    throw new Error(`compiled project missing (${cli}); run \`npm run build\` before the tests`);
  }
}
