import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiConfigSchema } from '../../apps/api/src/config/api-config';
import { workerConfigSchema } from '../../apps/worker/src/worker-config';

const root = path.resolve(__dirname, '../..');
const operations = fs.readFileSync(path.join(root, 'docs/operations.md'), 'utf8');

/** Variable names in the first column of the configuration table (`A`, or `A`, `B` in one cell). */
function documentedVariables(): Set<string> {
  const section = operations.split('## Configuration')[1].split('\n## ')[0];
  const rows = section.split('\n').filter((line) => line.startsWith('| `'));
  return new Set(rows.flatMap((row) => [...row.split('|')[1].matchAll(/`([A-Z0-9_]+)`/g)].map((m) => m[1])));
}

describe('docs/operations.md', () => {
  it('documents every variable the API and the worker read', () => {
    const documented = documentedVariables();
    const schemas = [apiConfigSchema, workerConfigSchema];
    for (const name of schemas.flatMap((schema) => Object.keys(schema.shape))) {
      expect(documented, name).toContain(name);
    }
  });

  it('is linked from the README', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain('docs/operations.md');
  });
});
