/**
 * The command tree in-process (cli/program.ts) with a recording `fetch` instead of a network: every
 * management route declared in lib/declaration.ts has a command (a route added without one fails
 * here), requests are SigV4-signed for execute-api, `--all` follows pages, and usage errors exit 2
 * before anything is sent.
 */

import { CLEARABLE } from '../../cli/commands/keys';
import type { CliDeps } from '../../cli/context';
import { run } from '../../cli/program';
import { updateKeyBody } from '../../functions/handlers/management/schemas';
import { routes } from '../../lib/declaration';

const ENDPOINT = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod/';

interface Sent {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

function harness(
  answer: (sent: Sent) => { status?: number; body: unknown; headers?: Record<string, string> },
) {
  const sent: Sent[] = [];
  let stdout = '';
  let stderr = '';
  const fetchFake = (async (input: URL | string, init?: RequestInit) => {
    const s: Sent = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: Object.fromEntries(
        Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]),
      ),
      body: init?.body as string | undefined,
    };
    sent.push(s);
    const a = answer(s);
    return new Response(typeof a.body === 'string' ? a.body : JSON.stringify(a.body), {
      status: a.status ?? 200,
      headers: a.headers ?? {},
    });
  }) as typeof fetch;
  const deps: CliDeps = {
    io: { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) },
    env: {},
    cwd: '/nonexistent',
    readStdin: async () => '{"owner":"o","routes":{}}',
    fetch: fetchFake,
    credentialChain: () => async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' }),
  };
  return {
    sent,
    out: () => ({ stdout, stderr }),
    run: (args: string[]) => run(['--endpoint', ENDPOINT, ...args], deps),
  };
}

const generic = {
  items: [],
  next_token: null,
  id: 'a1B2c3D4e5F6',
  key: 'sk_dev_a1B2c3D4e5F6_x',
  valid: true,
};

/** One invocation per command; together they must reach every management route. */
const INVOCATIONS: string[][] = [
  ['keys', 'create', '--name', 'n', '--scope', 'agents:read'],
  ['keys', 'list'],
  ['keys', 'scopes'],
  ['keys', 'overview'],
  ['keys', 'export', '--format', 'csv'],
  ['keys', 'get', 'a1B2c3D4e5F6'],
  ['keys', 'update', 'a1B2c3D4e5F6', '--name', 'm'],
  ['keys', 'enable', 'a1B2c3D4e5F6'],
  ['keys', 'disable', 'a1B2c3D4e5F6'],
  ['keys', 'revoke', 'a1B2c3D4e5F6'],
  ['keys', 'rotate', 'a1B2c3D4e5F6'],
  ['keys', 'usage', 'a1B2c3D4e5F6'],
  ['keys', 'audit', 'a1B2c3D4e5F6'],
  ['keys', 'verify', '--scope', 'agents:read'],
  ['audit', 'list'],
  ['apis', 'list'],
  ['apis', 'get', 'orders'],
  ['apis', 'put', 'orders', '--file', '-'],
  ['orgs', 'create', 'o1', '--name', 'O'],
  ['orgs', 'list'],
  ['orgs', 'get', 'o1'],
  ['orgs', 'update', 'o1', '--status', 'archived'],
  ['orgs', 'policy', 'get', 'o1'],
  ['orgs', 'policy', 'set', 'o1', '--file', '-'],
  ['workspaces', 'create', 'w1', '--org', 'o1', '--name', 'W'],
  ['workspaces', 'list', '--org', 'o1'],
  ['workspaces', 'get', 'w1', '--org', 'o1'],
  ['workspaces', 'update', 'w1', '--org', 'o1', '--name', 'W2'],
  ['bindings', 'list'],
  ['bindings', 'put', '--principal', 'arn:aws:iam::123456789012:user/x', '--role', 'auditor', '--org', 'o1'],
  ['bindings', 'delete', 'YmluZGluZw'],
  ['root-mode', 'open', '--reason', 'r'],
  ['root-mode', 'status'],
  ['root-mode', 'close'],
  ['whoami'],
];

it('every management route of the declaration has a command', async () => {
  const h = harness(() => ({ body: generic }));
  for (const args of INVOCATIONS) {
    const code = await h.run(args);
    if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}: ${h.out().stderr}`);
  }
  const reached = h.sent.map((s) => `${s.method} ${s.url.pathname.replace(/^\/prod/, '')}`);
  const missing = routes
    .filter((r) => r.auth.type === 'iam')
    .filter((r) => {
      const pattern = new RegExp(`^${r.method} ${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      return !reached.some((x) => pattern.test(x));
    })
    .map((r) => `${r.method} ${r.path}`);
  expect(missing).toEqual([]);
});

it('signs each request with SigV4 for execute-api in the endpoint region, and sends the body as JSON', async () => {
  const h = harness(() => ({ body: generic }));
  expect(
    await h.run([
      'keys',
      'update',
      'a1B2c3D4e5F6',
      '--rate-limit',
      '5',
      '--clear',
      'expires_at',
      '--enabled',
      'false',
    ]),
  ).toBe(0);
  const [s] = h.sent;
  expect(s?.method).toBe('PATCH');
  expect(s?.url.toString()).toBe(`${ENDPOINT}v1/api-keys/a1B2c3D4e5F6`);
  expect(s?.headers.authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request/,
  );
  expect(s?.headers['content-type']).toBe('application/json');
  expect(JSON.parse(s?.body ?? '')).toEqual({ rate_limit: 5, expires_at: null, enabled: false });
});

it('path arguments are encoded: an id cannot change the route', async () => {
  const h = harness(() => ({ body: generic }));
  await h.run(['keys', 'get', '../audit?x=1']);
  expect(h.sent[0]?.url.pathname).toBe('/prod/v1/api-keys/..%2Faudit%3Fx%3D1');
});

it('--all follows next_token and prints every item; --json prints the merged listing', async () => {
  const pages: Record<string, { items: { id: string; name: string }[]; next_token: string | null }> = {
    '': { items: [{ id: 'k1', name: 'one' }], next_token: 't2' },
    t2: { items: [{ id: 'k2', name: 'two' }], next_token: 't3' },
    t3: { items: [{ id: 'k3', name: 'three' }], next_token: null },
  };
  const h = harness((s) => ({ body: pages[s.url.searchParams.get('next_token') ?? ''] }));
  expect(await h.run(['keys', 'list', '--limit', '1', '--all', '--json'])).toBe(0);
  expect(h.sent.map((s) => s.url.searchParams.get('limit'))).toEqual(['1', '1', '1']);
  expect(JSON.parse(h.out().stdout)).toEqual({
    items: Object.values(pages).flatMap((p) => p.items),
    next_token: null,
  });
  const one = harness((s) => ({ body: pages[s.url.searchParams.get('next_token') ?? ''] }));
  expect(await one.run(['keys', 'list', '--next-token', 't2'])).toBe(0);
  expect(one.sent).toHaveLength(1);
  expect(one.out().stdout).toMatch(/│ k2 +│ two +│/);
  expect(one.out().stdout).toContain('next page: --next-token t3');
});

it('an API refusal exits 1 with its code, message and fields on stderr', async () => {
  const h = harness(() => ({
    status: 400,
    body: {
      error: {
        code: 'validation_error',
        message: 'Invalid body',
        details: [{ field: 'scopes.0', message: 'unknown scope "x:read"' }],
      },
    },
  }));
  expect(await h.run(['keys', 'create', '--name', 'n', '--scope', 'x:read'])).toBe(1);
  expect(h.out()).toEqual({
    stdout: '',
    stderr: 'error: validation_error (400): Invalid body\n  scopes.0: unknown scope "x:read"\n',
  });
});

it('API Gateway refusals without the error shape still name a code (access_denied)', async () => {
  const h = harness(() => ({ status: 403, body: { message: 'User is not authorized' } }));
  expect(await h.run(['keys', 'list'])).toBe(1);
  expect(h.out().stderr).toBe('error: access_denied (403): User is not authorized\n');
});

it('a network failure exits 1 with its cause', async () => {
  const h = harness(() => {
    throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
  });
  expect(await h.run(['keys', 'list'])).toBe(1);
  expect(h.out().stderr).toBe('error: fetch failed (ECONNREFUSED)\n');
});

it.each([
  [
    ['keys', 'create', '--scope', 'a:read', '--rate-limit', '1.5'],
    /argument '1.5' is invalid. must be a whole number/,
  ],
  [['keys', 'create', '--metadata', '{oops'], /argument '{oops' is invalid. must be JSON/],
  [['keys', 'update', 'a1B2c3D4e5F6', '--enabled', 'maybe'], /must be true or false/],
  [['keys', 'export', '--format', 'xml'], /Allowed choices are csv, json/],
  [['bindings', 'put', '--principal', 'arn:x'], /required option '--role <role>' not specified/],
  [['root-mode', 'open'], /required option '--reason <text>' not specified/],
  [['orgs', 'update', 'o1'], /nothing to change/],
  [['workspaces', 'update', 'w1'], /nothing to change/],
  [['apis', 'put', 'orders'], /required option '--file <file>' not specified/],
  [['nothing'], /unknown command 'nothing'/],
])('%j: usage error, exit 2, nothing sent', async (args, message) => {
  const h = harness(() => ({ body: generic }));
  expect(await h.run(args)).toBe(2);
  expect(h.out().stderr).toMatch(message);
  expect(h.sent).toEqual([]);
});

it('--help and --version exit 0 without a request', async () => {
  const h = harness(() => ({ body: generic }));
  expect(await h.run(['keys', 'rotate', '--help'])).toBe(0);
  expect(h.out().stdout).toContain('--grace <seconds>');
  expect(await h.run(['--version'])).toBe(0);
  expect(h.out().stdout).toContain('0.1.0');
  expect(await h.run(['help', 'keys'])).toBe(0);
  expect(h.out().stdout).toContain('Usage: latchkey keys');
  // Help shown because no command was given is a usage error.
  expect(await h.run(['orgs', 'policy'])).toBe(2);
  expect(h.sent).toEqual([]);
});

it('--json errors are the error shape on stderr, nothing on stdout', async () => {
  const h = harness(() => ({
    status: 404,
    body: { error: { code: 'not_found', message: 'No such key', details: [] } },
  }));
  expect(await h.run(['keys', 'get', 'a1B2c3D4e5F6', '--json'])).toBe(1);
  expect(h.out().stdout).toBe('');
  expect(JSON.parse(h.out().stderr)).toEqual({
    status: 404,
    error: { code: 'not_found', message: 'No such key', details: [] },
  });
});

it('audit tables name the user pool user of a console session under the actor', async () => {
  const session = 'arn:aws:sts::123456789012:assumed-role/ConsoleAdmins/CognitoIdentityCredentials';
  const sub = '1f2e3d4c-5b6a-4789-8abc-def012345678';
  const entry = { event_id: 'e', event_name: 'admin.api_key_created', key_id: 'k1', actor: session };
  const h = harness(() => ({
    body: {
      items: [
        { ...entry, federated_user: { provider: 'cognito', user_pool_id: 'eu-west-1_AbC', sub } },
        { ...entry, event_id: 'f', actor: 'arn:aws:iam::123456789012:user/cli', federated_user: null },
      ],
      next_token: null,
    },
  }));
  expect(await h.run(['audit', 'list'])).toBe(0);
  const out = h.out().stdout;
  expect(out).toContain(`user ${sub}`);
  // Once: the second entry, from a caller without identity-pool credentials, names no user.
  expect(out.split(/user [0-9a-f-]{36}/)).toHaveLength(2);
  expect(out).toContain('user/cli');
});

it('keys update --clear offers exactly the fields the API lets be null', () => {
  const nullable = Object.entries(updateKeyBody.shape)
    .filter(([, field]) => field.safeParse(null).success)
    .map(([name]) => name);
  expect([...CLEARABLE].sort()).toEqual(nullable.sort());
});
