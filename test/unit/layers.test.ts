/**
 * The layer rule (biome.json `noRestrictedImports` overrides, docs/architecture.md): imports point
 * handlers → services → domain and repositories, never back. Checked by linting a probe file placed
 * where the rule applies (Biome reports no diagnostics for stdin), removed right after.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const biome = join(root, 'node_modules/.bin/biome');

function lint(path: string, source: string): { ok: boolean; output: string } {
  const file = join(root, dirname(path), `__layer_probe_${randomUUID().slice(0, 8)}.ts`);
  writeFileSync(file, source);
  try {
    const run = spawnSync(biome, ['lint', '--max-diagnostics=50', file], { cwd: root, encoding: 'utf8' });
    return { ok: run.status === 0, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(file, { force: true });
  }
}

it.each([
  ['functions/services/probe.ts', "import { handler } from '../handlers/demo';"],
  ['functions/services/probe.ts', "import { createKeyBody } from '../handlers/management/schemas';"],
  ['functions/handlers/probe.ts', "import { getKey } from '../repositories/keys-repository';"],
  ['functions/repositories/probe.ts', "import { createKey } from '../services/api-keys';"],
  ['functions/domain/probe.ts', "import { dynamodb } from '../shared/clients';"],
  ['functions/domain/probe.ts', "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';"],
  ['functions/shared/probe.ts', "import { createKey } from '../services/api-keys';"],
])('%s may not `%s`', (path, source) => {
  const result = lint(path, `${source}\nexport const probe = 1;\n`);
  expect(result.ok).toBe(false);
  expect(result.output).toContain('noRestrictedImports');
});

it.each([
  ['functions/handlers/probe.ts', "import { createKey } from '../services/api-keys';"],
  ['functions/services/probe.ts', "import { getKey } from '../repositories/keys-repository';"],
  ['functions/services/probe.ts', "import { parseToken } from '../domain/token';"],
  ['functions/repositories/probe.ts', "import { parseToken } from '../domain/token';"],
])('%s may `%s`', (path, source) => {
  const result = lint(path, `${source}\nexport const probe = 1;\n`);
  expect(result.output).not.toContain('noRestrictedImports');
});
