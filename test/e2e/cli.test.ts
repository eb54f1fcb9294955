/**
 * The `latchkey` CLI (docs/cli.md) as users run it: the real bundle (`scripts/build-cli.mjs`, built
 * once here) in a child process, `--local` against a local stack started in this process, signing
 * with the principals of a credentials file written for the test. Every command group runs at least
 * once; tables are checked by their headers and values, `--json` by parsing; exit codes 0, 1 and 2;
 * errors with their code, message and fields; and the token of a key appears only on the stdout of
 * the `create` and `rotate` that made it, never anywhere else.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalStack } from '../../local/stack';
import { localWorkers } from '../../local/workers';
import { startTestStack } from '../support/local-stack';

const root = resolve(__dirname, '../..');
let work: string;
let bundle: string;
let credentialsFile: string;
let stack: LocalStack;

interface Run {
  readonly args: readonly string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every run, for the token scan at the end. */
const runs: Run[] = [];

function cli(args: readonly string[], options: { stdin?: string; local?: boolean } = {}): Promise<Run> {
  const full = options.local === false ? [...args] : ['--local', '--endpoint', stack.url, ...args];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [bundle, ...full], {
      cwd: work,
      env: { ...process.env, LATCHKEY_LOCAL_CREDENTIALS: credentialsFile, LATCHKEY_ENDPOINT: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const run = { args: full, code: code ?? -1, stdout, stderr };
      runs.push(run);
      ok(run);
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** A run that must succeed: its stdout (the failure shows what it printed). */
async function ok(args: readonly string[], options: { stdin?: string } = {}): Promise<string> {
  const run = await cli(args, options);
  if (run.code !== 0)
    throw new Error(`latchkey ${args.join(' ')} exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are checked field by field
async function json(args: readonly string[], options: { stdin?: string } = {}): Promise<any> {
  return JSON.parse(await ok([...args, '--json'], options));
}

/** Waits until `probe` answers something truthy (the audit trail is fed by the stream poller). */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`never: ${what}`);
}

/** Tokens printed by create and rotate, with the run that printed each. */
const tokens: { token: string; run: Run }[] = [];
const TOKEN = /sk_[a-z]+_[0-9A-Za-z]{12}_[0-9A-Za-z]+/g;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  bundle = join(work, 'latchkey.js');
  // Before the stack starts: a blocking build cannot hold up its gateway.
  const build = spawnSync(process.execPath, [join(root, 'scripts/build-cli.mjs'), bundle], {
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`build failed: ${build.stderr}`);
  stack = await startTestStack({ workers: localWorkers() });
  credentialsFile = join(work, 'credentials.json');
  writeFileSync(credentialsFile, JSON.stringify({ principals: stack.credentials }), { mode: 0o600 });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('usage', () => {
  it('--help on the program and on commands, with examples; exit 0', async () => {
    const top = await cli(['--help'], { local: false });
    expect(top.code).toBe(0);
    for (const group of ['keys', 'audit', 'apis', 'orgs', 'workspaces', 'bindings', 'root-mode', 'whoami']) {
      expect(top.stdout).toContain(group);
    }
    const create = await cli(['keys', 'create', '--help'], { local: false });
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('--token-file <path>');
    expect(create.stdout).toContain('Examples:');
    expect(create.stdout).toContain('--local'); // global options are listed too
    const policy = await cli(['orgs', 'policy', 'set', '--help'], { local: false });
    expect(policy.code).toBe(0);
    expect(policy.stdout).toContain('--file <file>');
  });

  it.each([
    [['keys', 'list', '--bogus'], /unknown option '--bogus'/],
    [['keys', 'get'], /missing required argument 'id'/],
    [['keys', 'frobnicate'], /unknown command 'frobnicate'/],
    [['keys'], /Usage: latchkey keys/],
    [['keys', 'list', '--limit', 'ten'], /--limit <n>' argument 'ten' is invalid. must be a whole number/],
    [['keys', 'list', '--status', 'sleeping'], /Allowed choices are active, disabled, expired, revoked/],
    [['orgs', 'create', 'x'], /required option '--name <name>' not specified/],
    [['keys', 'update', 'a1B2c3D4e5F6'], /nothing to change/],
    [['keys', 'update', 'a1B2c3D4e5F6', '--clear', 'name'], /--clear: name cannot be cleared/],
    [
      ['keys', 'create', '--name', 'x', '--scope', 'agents:read', '--body', 'missing.json'],
      /--body: cannot read/,
    ],
    [['keys', 'rotate', 'a1B2c3D4e5F6', '--force'], /--force goes with --token-file/],
  ])('%j is a usage error: exit 2, said on stderr', async (args, message) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stdout).toBe('');
  });

  it('no endpoint, an unknown --as, --as without --local: exit 2 with what to do', async () => {
    const none = await cli(['keys', 'list'], { local: false });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no endpoint: give --endpoint <url>, set LATCHKEY_ENDPOINT');
    const nobody = await cli(['--as', 'nobody', 'keys', 'list']);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('no principal named "nobody"');
    expect(nobody.stderr).toContain('super-admin, org-owner');
    const asRemote = await cli(['--endpoint', stack.url, '--as', 'member', 'keys', 'list'], { local: false });
    expect(asRemote.code).toBe(2);
    expect(asRemote.stderr).toContain('--as names a local principal');
  });
});

describe('keys', () => {
  let id = '';
  let token = '';

  it('create prints the record as a table and the token once, on stdout', async () => {
    const run = await cli([
      'keys',
      'create',
      '--name',
      'cli-ci',
      '--scope',
      'agents:read,metrics:read',
      '--org',
      'acme',
      '--workspace',
      'ws1',
      '--expires-in-days',
      '30',
      '--metadata',
      '{"team":"ci"}',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/│ FIELD\s+│ VALUE\s+│/);
    expect(run.stdout).toMatch(/│ name\s+│ cli-ci\s+│/);
    expect(run.stdout).toMatch(/│ scopes\s+│ agents:read, metrics:read\s+│/);
    expect(run.stdout).toMatch(/│ workspace_id\s+│ ws1\s+│/);
    token = /^token: (\S+)$/m.exec(run.stdout)?.[1] ?? '';
    id = /│ id\s+│ ([0-9A-Za-z]{12})\s+│/.exec(run.stdout)?.[1] ?? '';
    expect(token).toMatch(new RegExp(`^sk_dev_${id}_`));
    expect(run.stdout.match(TOKEN)).toEqual([token]);
    expect(run.stderr).toContain('shown once');
    tokens.push({ token, run });
  });

  it('create --json prints the API answer, token included', async () => {
    const run = await cli(['keys', 'create', '--name', 'cli-json', '--scope', 'agents:read', '--json']);
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer).toMatchObject({ name: 'cli-json', scopes: ['agents:read'], status: 'active' });
    expect(answer.key).toMatch(/^sk_dev_/);
    tokens.push({ token: answer.key, run });
  });

  it('create --token-file writes a new 0600 file and prints no token; an existing file needs --force', async () => {
    const file = join(work, 'ci.token');
    const run = await cli([
      'keys',
      'create',
      '--name',
      'cli-file',
      '--scope',
      'agents:read',
      '--token-file',
      file,
    ]);
    expect(run.code).toBe(0);
    const written = readFileSync(file, 'utf8').trim();
    expect(written).toMatch(/^sk_dev_[0-9A-Za-z]{12}_/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(run.stdout).not.toMatch(TOKEN);
    expect(run.stdout).toMatch(/│ name\s+│ cli-file\s+│/);
    expect(run.stderr).toContain('written to');
    expect(run.stderr).not.toContain(written);

    // Refused before the request: no key is created for a token that could not be kept.
    const before = (await json(['keys', 'list', '--all'])).items.length;
    const again = await cli([
      'keys',
      'create',
      '--name',
      'cli-file-2',
      '--scope',
      'agents:read',
      '--token-file',
      file,
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('exists; give --force');
    expect((await json(['keys', 'list', '--all'])).items.length).toBe(before);
    expect(readFileSync(file, 'utf8').trim()).toBe(written);

    writeFileSync(file, 'old\n', { mode: 0o644 });
    const forced = await cli([
      'keys',
      'create',
      '--name',
      'cli-file-3',
      '--scope',
      'agents:read',
      '--token-file',
      file,
      '--force',
      '--json',
    ]);
    expect(forced.code).toBe(0);
    const answer = JSON.parse(forced.stdout);
    expect(answer.key).toBeUndefined();
    expect(answer.name).toBe('cli-file-3');
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`^sk_dev_${answer.id}_`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('list: a table with headers and the key, --json items, --limit with next_token, --all', async () => {
    const table = await ok(['keys', 'list', '--org', 'acme']);
    expect(table).toMatch(
      /│ ID\s+│ NAME\s+│ ENV\s+│ STATUS\s+│ SCOPES\s+│ ORG\s+│ WORKSPACE\s+│ EXPIRES\s+│ LAST USED\s+│ CREATED\s+│/,
    );
    expect(table).toMatch(
      new RegExp(`│ ${id} │ cli-ci\\s+│ development │ active\\s+│ agents:read, metrics:read │ acme\\s+│ ws1`),
    );
    const page = await json(['keys', 'list', '--limit', '1']);
    expect(page.items).toHaveLength(1);
    expect(typeof page.next_token).toBe('string');
    const paged = await ok(['keys', 'list', '--limit', '1']);
    expect(paged).toContain(`next page: --next-token ${page.next_token}`);
    const all = await json(['keys', 'list', '--limit', '1', '--all']);
    expect(all.next_token).toBeNull();
    expect(all.items.length).toBeGreaterThanOrEqual(4);
    expect(new Set(all.items.map((k: { id: string }) => k.id)).size).toBe(all.items.length);
    const filtered = await json(['keys', 'list', '--scope', 'metrics:read']);
    expect(filtered.items.map((k: { id: string }) => k.id)).toEqual([id]);
  });

  it('get shows the record and its metadata, never the token, a secret or a hash', async () => {
    const run = await cli(['keys', 'get', id]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/│ metadata\s+│ {"team":"ci"}/);
    expect(run.stdout).not.toMatch(/hash|ciphertext/i);
    const answer = await json(['keys', 'get', id]);
    expect(answer).toMatchObject({ id, name: 'cli-ci', metadata: { team: 'ci' } });
    expect(answer.key).toBeUndefined();
  });

  it('update, disable, enable', async () => {
    const updated = await ok(['keys', 'update', id, '--rate-limit', '50', '--description', 'CI runners']);
    expect(updated).toMatch(/│ rate_limit\s+│ 50\s+│/);
    expect(updated).toMatch(/│ description\s+│ CI runners\s+│/);
    const cleared = await json(['keys', 'update', id, '--clear', 'description', '--clear', 'expires_at']);
    expect(cleared).toMatchObject({ description: null, expires_at: null, rate_limit: 50 });
    expect((await json(['keys', 'disable', id])).status).toBe('disabled');
    expect(await ok(['keys', 'enable', id])).toMatch(/│ status\s+│ active\s+│/);
  });

  it('verify reads the token from a file or stdin: exit 0 when allowed, 1 when refused', async () => {
    const file = join(work, 'verify.token');
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    const allowed = await cli(['keys', 'verify', '--token-from', file, '--route', 'GET /demo/agents']);
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/│ valid\s+│ true\s+│/);
    expect(allowed.stdout).toMatch(new RegExp(`│ key_id\\s+│ ${id}`));
    const refused = await cli(['keys', 'verify', '--token-from', '-', '--scope', 'agents:write', '--json'], {
      stdin: token,
    });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({ valid: false, code: 'scope_missing', key_id: id });
  });

  it('rotate prints the new token once; --json carries it as key', async () => {
    const run = await cli(['keys', 'rotate', id, '--grace', '60']);
    expect(run.code).toBe(0);
    const rotated = /^token: (\S+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(rotated).toMatch(new RegExp(`^sk_dev_${id}_`));
    expect(rotated).not.toBe(token);
    expect(run.stdout).toMatch(/│ previous_key_expires_at\s+│ \d{4}-/);
    tokens.push({ token: rotated, run });
    const again = await cli(['keys', 'rotate', id, '--end-previous-grace', '--json']);
    expect(again.code).toBe(0);
    const answer = JSON.parse(again.stdout);
    expect(answer.key).toMatch(new RegExp(`^sk_dev_${id}_`));
    tokens.push({ token: answer.key, run: again });
  });

  it('rotate --token-file writes the new token there only', async () => {
    const file = join(work, 'rotated.token');
    const run = await cli(['keys', 'rotate', id, '--token-file', file]);
    expect(run.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`^sk_dev_${id}_`));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(run.stdout).not.toMatch(TOKEN);
  });

  it('usage and audit of a key', async () => {
    const usage = await ok(['keys', 'usage', id]);
    expect(usage).toMatch(new RegExp(`│ key_id\\s+│ ${id}`));
    expect(usage).toContain('Per hour');
    expect((await json(['keys', 'usage', id])).key_id).toBe(id);
    const entries = await eventually(async () => {
      const page = await json(['keys', 'audit', id, '--all']);
      const names = page.items.map((e: { event_name: string }) => e.event_name);
      return names.includes('admin.api_key_rotated') && names.includes('admin.api_key_created')
        ? page
        : undefined;
    }, 'the key has its created and rotated audit entries');
    expect(entries.items[0].key_id).toBe(id);
    const table = await ok(['keys', 'audit', id]);
    expect(table).toMatch(/│ TIME\s+│ EVENT\s+│ KEY\s+│ ACTOR\s+│ SOURCE IP\s+│ DETAIL\s+│/);
    expect(table).toContain('admin.api_key_rotated');
    expect(table).toContain('latchkey-super-admin');
  });

  it('overview, scopes and export', async () => {
    const overview = await ok(['keys', 'overview', '--org', 'acme']);
    expect(overview).toMatch(/│ KEYS\s+│ TOTAL\s+│ ACTIVE\s+│ DISABLED\s+│ EXPIRED\s+│ REVOKED\s+│/);
    expect(overview).toContain('By module');
    const figures = await json(['keys', 'overview', '--org', 'acme']);
    expect(figures.organization_id).toBe('acme');
    expect(overview).toMatch(new RegExp(`│ all\\s+│ ${figures.keys.total}\\s+│ ${figures.keys.active}\\s+│`));

    const scopes = await ok(['keys', 'scopes']);
    expect(scopes).toMatch(/│ SCOPE\s+│ MODULE\s+│ PERMISSION\s+│ RISK\s+│ DESCRIPTION\s+│/);
    expect(scopes).toMatch(/│ agents:read\s+│ agents\s+│ read\s+│ low/);

    const csvFile = join(work, 'registry.csv');
    const exported = await cli(['keys', 'export', '--format', 'csv', '--org', 'acme', '--output', csvFile]);
    expect(exported.code).toBe(0);
    expect(exported.stdout).toBe('');
    const csv = readFileSync(csvFile, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^id,name,/);
    expect(csv.some((line) => line.startsWith(`${id},cli-ci,`))).toBe(true);
    // Paged CSV: one header, every row once.
    const paged = await ok(['keys', 'export', '--format', 'csv', '--limit', '1', '--all']);
    const rows = paged.trim().split('\n');
    expect(rows.filter((r) => r.startsWith('id,name,'))).toHaveLength(1);
    expect(rows.length - 1).toBe((await json(['keys', 'list', '--all'])).items.length);
    const asJson = JSON.parse(await ok(['keys', 'export', '--format', 'json', '--org', 'acme']));
    expect(asJson.items.map((k: { id: string }) => k.id)).toContain(id);
  });

  it('revoke, then verify refuses the key and changing it is a 409 (exit 1)', async () => {
    expect(await ok(['keys', 'revoke', id])).toMatch(/│ status\s+│ revoked\s+│/);
    const refused = await cli(['keys', 'verify', '--token-from', '-', '--scope', 'agents:read'], {
      stdin: token,
    });
    expect(refused.code).toBe(1);
    const conflict = await cli(['keys', 'update', id, '--name', 'again']);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^error: conflict \(409\): /);
  });
});

describe('errors', () => {
  it('not found: exit 1 with the code and message on stderr; --json prints the error shape on stderr', async () => {
    const run = await cli(['keys', 'get', 'a1B2c3D4e5F6']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: not_found \(404\): /);
    const asJson = await cli(['keys', 'get', 'a1B2c3D4e5F6', '--json']);
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.stderr)).toMatchObject({ status: 404, error: { code: 'not_found' } });
  });

  it('a refused body: each bad field on its own line', async () => {
    const run = await cli(['keys', 'create', '--name', ' ', '--scope', 'agents:fly', '--rate-limit', '0']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: validation_error \(400\): /);
    expect(run.stderr).toMatch(/^ {2}name: /m);
    expect(run.stderr).toMatch(/^ {2}scopes\.0: /m);
    expect(run.stderr).toMatch(/^ {2}rate_limit: /m);
    const asJson = await cli(['keys', 'create', '--name', ' ', '--scope', 'agents:read', '--json']);
    const error = JSON.parse(asJson.stderr);
    expect(error.error.details).toEqual([{ field: 'name', message: expect.any(String) }]);
  });

  it('--body takes a whole body from a file or stdin; flags override its fields', async () => {
    const body = JSON.stringify({ name: 'from-body', scopes: ['agents:read'], environment: 'staging' });
    const run = await json(['keys', 'create', '--body', '-', '--name', 'overridden'], { stdin: body });
    expect(run).toMatchObject({ name: 'overridden', environment: 'staging' });
    tokens.push({ token: run.key, run: runs[runs.length - 1] as Run });
  });
});

describe('--as another principal', () => {
  it('a member is refused a key (exit 1, forbidden); an auditor reads the audit feed', async () => {
    const member = await cli([
      '--as',
      'member',
      'keys',
      'create',
      '--name',
      'nope',
      '--scope',
      'agents:read',
      '--org',
      'acme',
    ]);
    expect(member.code).toBe(1);
    expect(member.stderr).toMatch(/^error: forbidden \(403\): /);
    const auditor = await json(['--as', 'auditor', 'audit', 'list', '--org', 'acme']);
    expect(Array.isArray(auditor.items)).toBe(true);
    const denied = await eventually(async () => {
      const page = await json(['audit', 'list', '--org', 'acme', '--event', 'admin.access_denied']);
      return page.items.find((e: { actor: string }) => e.actor.endsWith('latchkey-member'));
    }, "the member's refusal is audited");
    expect(denied.event_name).toBe('admin.access_denied');
    const table = await ok(['audit', 'list', '--org', 'acme', '--limit', '5']);
    expect(table).toMatch(/│ TIME\s+│ EVENT\s+│/);
  });
});

describe('apis', () => {
  it('put from a file, get, list', async () => {
    const file = join(work, 'orders.json');
    writeFileSync(
      file,
      JSON.stringify({
        owner: 'orders-team',
        organization_id: 'acme',
        scopes: [{ scope: 'orders:read', description: 'View orders', risk_level: 'low' }],
        routes: { 'GET /orders': 'orders:read' },
      }),
    );
    expect(await ok(['apis', 'put', 'orders', '--file', file])).toMatch(/│ owner\s+│ orders-team\s+│/);
    expect((await json(['apis', 'get', 'orders'])).routes).toEqual({ 'GET /orders': 'orders:read' });
    const list = await ok(['apis', 'list']);
    expect(list).toMatch(
      /│ NAME\s+│ OWNER\s+│ ORG\s+│ ENV\s+│ SCOPES\s+│ ROUTES\s+│ BUILT IN\s+│ VERSION\s+│/,
    );
    expect(list).toMatch(/│ default\s+│/);
    expect(list).toMatch(/│ orders\s+│ orders-team\s+│ acme\s+│ -\s+│ 1\s+│ 1\s+│ false/);
    const missing = await cli(['apis', 'get', 'nothing-here']);
    expect(missing.code).toBe(1);
  });
});

describe('organizations, workspaces, policies', () => {
  it('orgs create, list, get, update', async () => {
    expect(await ok(['orgs', 'create', 'cli-org', '--name', 'CLI Org'])).toMatch(/│ name\s+│ CLI Org\s+│/);
    const list = await ok(['orgs', 'list', '--all']);
    expect(list).toMatch(/│ ID\s+│ NAME\s+│ STATUS\s+│ API KEYS ENABLED\s+│/);
    expect(list).toMatch(/│ cli-org\s+│ CLI Org\s+│ active\s+│ true/);
    expect((await json(['orgs', 'get', 'cli-org'])).name).toBe('CLI Org');
    expect(await json(['orgs', 'update', 'cli-org', '--no-api-keys-enabled', '--name', 'CLI'])).toMatchObject(
      {
        api_keys_enabled: false,
        name: 'CLI',
      },
    );
    const again = await cli(['orgs', 'create', 'cli-org', '--name', 'Twice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/\(409\)/);
  });

  it('workspaces create, list, get, update', async () => {
    expect(await ok(['workspaces', 'create', 'cli-ws', '--org', 'cli-org', '--name', 'CLI WS'])).toMatch(
      /│ workspace_id\s+│ cli-ws\s+│/,
    );
    const list = await ok(['workspaces', 'list', '--org', 'cli-org']);
    expect(list).toMatch(/│ ID\s+│ ORG\s+│ NAME\s+│ STATUS\s+│/);
    expect(list).toMatch(/│ cli-ws\s+│ cli-org\s+│ CLI WS\s+│ active/);
    expect((await json(['workspaces', 'get', 'cli-ws', '--org', 'cli-org'])).name).toBe('CLI WS');
    expect(
      (await json(['workspaces', 'update', 'cli-ws', '--org', 'cli-org', '--status', 'archived'])).status,
    ).toBe('archived');
  });

  it('policy set from a file and get; a warn rule shows its warning on stderr', async () => {
    const file = join(work, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        rules: [
          {
            id: 'cli-warn-staging',
            description: 'Staging keys are looked at.',
            effect: 'warn',
            actions: ['api_key:create'],
            when: { environments: ['staging'] },
          },
        ],
      }),
    );
    const set = await ok(['orgs', 'policy', 'set', 'acme', '--file', file]);
    expect(set).toContain('Rules of the organization');
    expect(set).toMatch(/│ cli-warn-staging\s+│ warn\s+│ api_key:create/);
    const policy = await json(['orgs', 'policy', 'get', 'acme']);
    expect(policy.rules[0].id).toBe('cli-warn-staging');
    const stale = await cli(['orgs', 'policy', 'set', 'acme', '--file', file, '--if-version', '0']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^error: conflict \(409\)/);

    const warned = await cli([
      'keys',
      'create',
      '--name',
      'warned',
      '--scope',
      'agents:read',
      '--org',
      'acme',
      '--workspace',
      'ws1',
      '--environment',
      'staging',
    ]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toMatch(/^warning: policy rule cli-warn-staging \(organization\): /m);
    tokens.push({ token: /^token: (\S+)$/m.exec(warned.stdout)?.[1] ?? '', run: warned });
    const asJson = await cli([
      'keys',
      'create',
      '--name',
      'warned-json',
      '--scope',
      'agents:read',
      '--org',
      'acme',
      '--workspace',
      'ws1',
      '--environment',
      'staging',
      '--json',
    ]);
    const answer = JSON.parse(asJson.stdout);
    expect(answer.policy_warnings[0].rule_id).toBe('cli-warn-staging');
    expect(asJson.stderr).not.toContain('warning:');
    tokens.push({ token: answer.key, run: asJson });
  });
});

describe('bindings and root mode', () => {
  const principal = 'arn:aws:iam::000000000000:user/cli-auditor';

  it('bindings put, list, delete', async () => {
    const put = await json([
      'bindings',
      'put',
      '--principal',
      principal,
      '--role',
      'auditor',
      '--org',
      'acme',
    ]);
    expect(put).toMatchObject({ principal, role: 'auditor', organization_id: 'acme' });
    const list = await ok(['bindings', 'list', '--principal', principal]);
    expect(list).toMatch(/│ ID\s+│ PRINCIPAL\s+│ ROLE\s+│ ORG\s+│ WORKSPACES\s+│ ROOT ALLOWED\s+│/);
    expect(list).toContain('cli-auditor');
    const [binding] = (await json(['bindings', 'list', '--principal', principal])).items;
    expect(binding.id).toEqual(expect.any(String));
    expect((await cli(['bindings', 'delete', binding.id])).code).toBe(0);
    expect((await json(['bindings', 'list', '--principal', principal])).items).toEqual([]);
    expect((await cli(['bindings', 'delete', binding.id])).code).toBe(1);
  });

  it('root-mode open, status, close for the super admin; refused for the org owner', async () => {
    expect(await ok(['root-mode', 'open', '--reason', 'cli test', '--minutes', '2'])).toMatch(
      /│ open\s+│ true\s+│/,
    );
    expect((await json(['root-mode', 'status'])).open).toBe(true);
    expect((await json(['root-mode', 'close'])).open).toBe(false);
    const owner = await cli(['--as', 'org-owner', 'root-mode', 'open', '--reason', 'nope']);
    expect(owner.code).toBe(1);
    expect(owner.stderr).toMatch(/\(403\)/);
  });
});

describe('whoami', () => {
  it('a table of your roles and root-mode state, --json the API answer; each --as sees its own', async () => {
    const table = await ok(['whoami']);
    expect(table).toMatch(/^principal: arn:aws:iam::\d{12}:user\/latchkey-super-admin$/m);
    expect(table).toMatch(/│ ROLE\s+│ ORG\s+│ WORKSPACES\s+│ ROOT ALLOWED\s+│/);
    expect(table).toMatch(/│ super_admin\s+│ \* \(every organization\)\s+│ -\s+│ true\s+│/);
    expect(table).toMatch(/^root mode: (closed|open)/m);
    const wsAdmin = await json(['--as', 'workspace-admin', 'whoami']);
    expect(wsAdmin).toMatchObject({
      principal: expect.stringMatching(/user\/latchkey-workspace-admin$/),
      bindings: [
        {
          role: 'workspace_admin',
          organization_id: 'acme',
          workspace_ids: ['acme-prod'],
          root_allowed: false,
        },
      ],
      root_mode: { open: false, root_allowed: false },
    });
    const auditor = await ok(['--as', 'auditor', 'whoami']);
    expect(auditor).toMatch(/│ auditor\s+│ acme\s+│ -\s+│ false\s+│/);
    expect(auditor).toMatch(/^root mode: not allowed$/m);
  });
});

describe('the README', () => {
  it('its CLI block runs as written (npx latchkey is the bundle; --local is this test stack)', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /```bash cli\n([\s\S]*?)```/.exec(readme)?.[1];
    if (!block) throw new Error('README has no ```bash cli block');
    const dir = mkdtempSync(join(work, 'readme-'));
    // The only stand-in: `npx latchkey` runs the bundle built here, told this stack's port.
    const prelude = 'npx() { shift; node "$BUNDLE" --endpoint "$STACK_URL" "$@"; }\n';
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      const child = spawn('bash', ['-euo', 'pipefail', '-c', prelude + block], {
        cwd: dir,
        env: {
          ...process.env,
          BUNDLE: bundle,
          STACK_URL: stack.url,
          LATCHKEY_LOCAL_CREDENTIALS: credentialsFile,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString('utf8');
      });
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString('utf8');
      });
      child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    });
    if (result.code !== 0)
      throw new Error(`the README block failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
    const token = readFileSync(join(dir, 'ci.token'), 'utf8').trim();
    expect(statSync(join(dir, 'ci.token')).mode & 0o777).toBe(0o600);
    expect(result.stdout).not.toContain(token);
    expect(result.stdout).toMatch(/│ ID\s+│ NAME\s+│ ENV\s+│ STATUS/);
    expect(result.stdout).toMatch(/│ TIME\s+│ EVENT\s+│/);
    expect(readFileSync(join(dir, 'registry.csv'), 'utf8')).toMatch(/^id,name,/);
    expect(result.stderr).toMatch(/error: forbidden \(403\)/);
    expect(result.stdout).toContain('refused: exit 1');
  });
});

describe('tokens', () => {
  it('appear only on the stdout of the create or rotate that made them', () => {
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    for (const { token, run } of tokens) {
      expect(token).toMatch(TOKEN);
      const secret = token.split('_')[3] as string;
      expect(secret.length).toBeGreaterThan(20);
      for (const other of runs) {
        const printed = other === run ? other.stderr : `${other.stdout}\n${other.stderr}`;
        if (printed.includes(secret)) {
          throw new Error(
            `the secret of ${token.slice(0, 20)}… was printed by latchkey ${other.args.join(' ')}`,
          );
        }
      }
      expect(run.stdout.split(secret).length - 1).toBe(1);
    }
    // Every token printed anywhere is one of those (no stray token on another command's output).
    const known = new Set(tokens.map((t) => t.token));
    for (const run of runs)
      for (const seen of `${run.stdout}${run.stderr}`.match(TOKEN) ?? []) expect(known).toContain(seen);
  });
});
