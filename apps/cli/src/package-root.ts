import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder (where its package.json says "chorus"), found from this file so it is the
 * same for the TypeScript source and the compiled dist/ copy, whatever the working directory.
 */
export function packageRoot(from = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'chorus') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no chorus package.json above ${from}`);
  }
}

export const DEFAULT_MODEL_DIR = 'models/chorus-tiny';
