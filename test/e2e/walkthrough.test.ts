/**
 * Runs the README's walkthrough block, word for word, with bash and the real curl against a fresh
 * local stack (gateway, authorizer, stream poller): if the README drifts from the code, this fails.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LocalStack } from '../../local/stack';
import { localWorkers } from '../../local/workers';
import { sendSigned, startTestStack } from '../support/local-stack';

const run = promisify(execFile);
let stack: LocalStack;
let workdir: string;

function walkthroughBlock(): string {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const match = /```bash walkthrough\n([\s\S]*?)```/.exec(readme);
  if (!match?.[1]) throw new Error('README has no ```bash walkthrough block');
  return match[1];
}

/** What one run of the walkthrough printed, and the id of the key it created (both tests read it). */
let stdout = '';
let id = '';

beforeAll(async () => {
  stack = await startTestStack({ workers: localWorkers() });
  workdir = mkdtempSync(join(tmpdir(), 'latchkey-walkthrough-'));
  const admin = stack.credentials[0];
  const auditor = stack.credentials.find((p) => p.name === 'auditor');
  if (!admin || !auditor) throw new Error('no local principal');
  // Run once here, not in a test, so each test below also passes when run alone (`-t`).
  ({ stdout } = await run('bash', ['-euo', 'pipefail', '-c', walkthroughBlock()], {
    cwd: workdir,
    env: {
      ...process.env,
      URL: stack.url,
      AK: admin.access_key_id,
      SK: admin.secret_access_key,
      AUDITOR_AK: auditor.access_key_id,
      AUDITOR_SK: auditor.secret_access_key,
    },
    timeout: 60_000,
  }));
  id = /created ([0-9A-Za-z]{12})/.exec(stdout)?.[1] ?? '';
}, 90_000);
afterAll(async () => {
  await stack?.stop();
  if (workdir) rmSync(workdir, { recursive: true, force: true });
});

it('the README walkthrough creates, uses, rotates and revokes a key', () => {
  expect(id).toMatch(/^[0-9A-Za-z]{12}$/);
  // Step 2: the demo route echoes the authorizer context; the missing scope is a 403.
  expect(stdout).toContain(`"key_id":"${id}"`);
  expect(stdout).toContain('"scopes":["agents:read","metrics:read"]');
  expect(stdout).toContain('POST /demo/agents without agents:write -> 403');
  // Step 4: revoked, and refused at once.
  expect(stdout).toContain('"status":"revoked"');
  expect(stdout).toContain('after revoke -> 403');
  // Step 5: the audit history answers (entries arrive through the stream poller).
  expect(stdout).toContain('"items":[');
  // Step 6: another role, bound on start: reads pass, a create is refused.
  expect(stdout).toContain('auditor lists acme keys -> 200');
  expect(stdout).toContain('auditor creates a key -> 403');
  // The walkthrough prints no secret hash anywhere.
  expect(stdout).not.toMatch(/secret_hash|[0-9a-f]{64}/);
});

it('the audit trail records the walkthrough through the stream, newest first', async () => {
  const admin = stack.credentials[0];
  if (!admin) throw new Error('no local principal');
  // The key the walkthrough created, by the id it printed (not "the newest key").
  expect(id).toMatch(/^[0-9A-Za-z]{12}$/);
  let names: string[] = [];
  for (let i = 0; i < 50; i++) {
    const res = await sendSigned(stack.url, { principal: admin, path: `/v1/api-keys/${id}/audit` });
    expect(res.status).toBe(200);
    names = res.json<{ items: { event_name: string }[] }>().items.map((e) => e.event_name);
    if (names.includes('admin.api_key_deleted')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(names.filter((n) => !['admin.api_key_used', 'admin.api_key_denied'].includes(n))).toEqual([
    'admin.api_key_deleted',
    'admin.api_key_rotated',
    'admin.api_key_created',
  ]);
});
