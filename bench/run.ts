/**
 * `npm run bench`: every performance target of the API-key backend, each as a ratio against a
 * reference measured in the same run (so a busy machine moves both), printed as one Markdown table:
 * figure, reference, ratio, target, met. Progress goes to stderr; the table to stdout. The README
 * has a run's output. Must finish in under 5 minutes (the last row says how long it took).
 *
 * Sections (docs/operations.md, Performance): the secret check against bcrypt cost 10; the
 * authorizer against bare GetItem at concurrency 16 (no limits, and with a rate limit); table size
 * (p50 with 100,000 keys against 1,000); refusals that read nothing, through the handler; a
 * protected route through the local gateway against bare GetItem; bundle size and module load time
 * of every function against a DynamoDB-client-only bundle built the same way; better-auth's
 * `verifyApiKey` on SQLite; the audit trail's visibility delay.
 *
 * The comparisons (bcrypt cost 10, better-auth) use the separate package `bench/compare`,
 * installed on first use; if it cannot be, their rows say "not measured".
 *
 * Knobs (environment): BENCH_SECONDS (length of one measured round, default 1.5), BENCH_LARGE_KEYS
 * (default 100000), BENCH_ONLY (comma-separated section names, for development).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createRequire } from 'node:module';
import { cpus, platform, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { build } from 'esbuild';
import { buildConsole, CONSOLE_JS_BUDGET_BYTES } from '../console/build';
import type { ApiKeyItem } from '../functions/domain/api-key';
import { readLocalConfig } from '../lib/config';
import { BUNDLING, runtimeEnvironment } from '../lib/constructs/latchkey-function';
import { type FunctionDeclaration, functions } from '../lib/declaration';
import { startDynamoDbLocal } from '../local/dynamodb';
import { localFunctionEnvironment } from '../local/environment';
import { DEFAULT_KMS_KEY_ID } from '../local/stack';
import { createTables } from '../local/tables';

const REPO_ROOT = resolve(__dirname, '..');
const ROUND_MS = Number(process.env.BENCH_SECONDS ?? 1.5) * 1000;
const LARGE_KEYS = Number(process.env.BENCH_LARGE_KEYS ?? 100_000);
const SMALL_KEYS = 1_000;
const CONCURRENCY = 16;
const ONLY = process.env.BENCH_ONLY?.split(',');
const runs = (section: string) => !ONLY || ONLY.includes(section);
// Lambda runs Node.js 22; the SDK's notice about older Node versions would only clutter the output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// ---- Reporting --------------------------------------------------------------------------------------

type Met = 'yes' | 'no' | 'pending' | 'not measured' | '—';
interface Row {
  readonly figure: string;
  readonly value: string;
  readonly reference: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: Met;
}
const rows: Row[] = [];
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const row = (r: Row) => {
  rows.push(r);
  progress(`${r.figure}: ${r.value} | ${r.reference} | ${r.ratio} | ${r.target} | ${r.met}`);
};
const met = (ok: boolean): Met => (ok ? 'yes' : 'no');
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const perSecond = (n: number) => `${fmt(n)}/s`;
const ms = (n: number) => `${fmt(n, n < 10 ? 3 : 1)} ms`;
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;
const times = (n: number, digits = 2) => `${fmt(n, digits)}×`;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? ((s[Math.floor((s.length - 1) / 2)] as number) + (s[Math.ceil((s.length - 1) / 2)] as number)) / 2
    : Number.NaN;
};

function printTable(elapsedMs: number): void {
  const header = ['figure', 'measured', 'reference', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [r.figure, r.value, r.reference, r.ratio, r.target, r.met]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const cpu = cpus();
  const out = [
    `Latchkey bench, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${fmt(totalmem() / 2 ** 30, 1)} GB, ${platform()} ${release()}, Node ${process.version}; ${fmt(elapsedMs / 1000)} s`,
    '',
    line(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.map(line),
  ];
  realStdoutWrite(`${out.join('\n')}\n`);
}

// Function logs and EMF lines go to stdout, as in Lambda; while measuring they are discarded (the
// cost of producing them stays in the figures), so stdout carries only the table.
const realStdoutWrite = process.stdout.write.bind(process.stdout);
function silenceStdout(): void {
  process.stdout.write = (() => true) as typeof process.stdout.write;
}

// ---- Measuring --------------------------------------------------------------------------------------

/** Calls per second of `fn` with `concurrency` callers for `durationMs`. */
async function throughput(fn: () => Promise<unknown>, durationMs = ROUND_MS, concurrency = CONCURRENCY) {
  let done = 0;
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await fn();
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

/** Medians of `fns`, measured round by round in turn, so drift in the machine's load hits each alike. */
async function interleaved(fns: readonly (() => Promise<number>)[], rounds = 5): Promise<number[]> {
  const results = fns.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) for (const [i, f] of fns.entries()) results[i]?.push(await f());
  return results.map(median);
}

/** Warms connections and the JIT: up to `n` calls, for at most half a second. */
async function warm(fn: () => Promise<unknown>, n = 20_000): Promise<void> {
  const until = performance.now() + 500;
  for (let i = 0; i < n && performance.now() < until; i++) await fn();
}

/** Sequential latencies (ms) of `n` calls. */
async function latencies(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * What Latchkey is compared with lives in its own package, `bench/compare` (bcryptjs, better-auth,
 * better-sqlite3), so their peer dependencies never touch the project's install. Installed on first
 * use with `npm ci` (better-sqlite3 builds a native module: a compiler is needed if no prebuilt
 * binary can be fetched). The comparisons say "not measured" when it cannot be installed.
 */
const COMPARE_DIR = join(REPO_ROOT, 'bench', 'compare');
let compareReady: boolean | undefined;

function compareInstalled(): boolean {
  if (compareReady !== undefined) return compareReady;
  if (!existsSync(join(COMPARE_DIR, 'node_modules'))) {
    progress('installing bench/compare (bcryptjs, better-auth, better-sqlite3) on first use: npm ci');
    const out = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: COMPARE_DIR,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (out.status !== 0) progress('npm ci in bench/compare failed: the comparisons are not measured');
  }
  compareReady = existsSync(join(COMPARE_DIR, 'node_modules'));
  return compareReady;
}

/** A module of `bench/compare` (ES modules included), or undefined when it cannot be loaded. */
async function optional<T>(name: string): Promise<T | undefined> {
  if (!compareInstalled()) return undefined;
  try {
    const resolved = createRequire(join(COMPARE_DIR, 'package.json')).resolve(name);
    return (await import(pathToFileURL(resolved).href)) as T;
  } catch {
    return undefined;
  }
}

function authorizerEvent(token: string | undefined, sourceIp = '127.0.0.1', method = 'GET') {
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:000000000000:bench/local/${method}/demo/agents`,
    resource: '/demo/agents',
    path: '/demo/agents',
    httpMethod: method,
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    multiValueHeaders: {},
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      // The local account: the built-in registration admits only APIs of the account Latchkey runs in.
      accountId: '000000000000',
      identity: { sourceIp },
    } as APIGatewayRequestAuthorizerEvent['requestContext'],
  } as APIGatewayRequestAuthorizerEvent;
}

type Handler = (event: APIGatewayRequestAuthorizerEvent) => Promise<unknown>;
const swallow = () => undefined;

// ---- Sections ---------------------------------------------------------------------------------------

async function secretCheck(): Promise<void> {
  const { formatToken, newKeyId, newSecret, parseToken } = await import('../functions/domain/token');
  const { hashSecret, secretMatches } = await import('../functions/domain/hashing');
  const token = formatToken('production', newKeyId(), newSecret());
  const stored = hashSecret(parseToken(token)?.secret ?? '');
  const verify = () => {
    const parsed = parseToken(token);
    return parsed !== undefined && secretMatches(parsed.secret, stored);
  };
  const n = 200_000;
  for (let i = 0; i < n; i++) verify(); // warm up the JIT
  const samples: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) if (!verify()) throw new Error('the bench token does not verify');
    samples.push(((performance.now() - t) * 1000) / n);
  }
  const us = median(samples);
  row({
    figure: 'secret check (parse + checksum + hash + compare)',
    value: `${fmt(us, 2)} µs`,
    reference: '—',
    ratio: '—',
    target: '≤ 5 µs',
    met: met(us <= 5),
  });
  type Bcrypt = { hashSync(s: string, rounds: number): string; compareSync(s: string, h: string): boolean };
  const native = await optional<Bcrypt & { default?: Bcrypt }>('bcrypt');
  const js = native ? undefined : await optional<Bcrypt & { default?: Bcrypt }>('bcryptjs');
  const bcrypt = native?.default ?? native ?? js?.default ?? js;
  if (!bcrypt) {
    row({
      figure: 'bcrypt cost 10 verify ÷ secret check',
      value: '—',
      reference: 'not measured (bench/compare could not be installed)',
      ratio: '—',
      target: '≥ 10,000×',
      met: 'not measured',
    });
    return;
  }
  const hash = bcrypt.hashSync('correct horse battery staple', 10);
  const bcryptMs = median(
    Array.from({ length: 5 }, () => {
      const t = performance.now();
      bcrypt.compareSync('correct horse battery staple', hash);
      return performance.now() - t;
    }),
  );
  const ratio = (bcryptMs * 1000) / us;
  row({
    figure: 'bcrypt cost 10 verify ÷ secret check',
    value: `${fmt(us, 2)} µs`,
    reference: `bcrypt cost 10 (${native ? 'bcrypt' : 'bcryptjs'}): ${ms(bcryptMs)}`,
    ratio: times(ratio, 0),
    target: '≥ 10,000×',
    met: met(ratio >= 10_000),
  });
}

interface Bench {
  readonly endpoint: string;
  readonly handler: Handler;
  readonly keysTable: string;
  /** A key without limits (development, agents:read), its token and item. */
  readonly token: string;
  readonly item: ApiKeyItem;
  readonly bare: DynamoDBClient;
}

async function benchKey(extra: Record<string, unknown> = {}) {
  const { createKey } = await import('../functions/services/api-keys');
  return createKey(
    {
      name: 'bench',
      scopes: ['agents:read'],
      environment: 'development',
      organization_id: 'bench',
      key_type: 'workspace',
      ...extra,
    } as never,
    { principal: 'bench' },
  );
}

/** One bare GetItem of the key, as the authorizer's read is (strongly consistent). */
const bareGet =
  (b: Bench, table = b.keysTable) =>
  () =>
    b.bare.send(
      new GetItemCommand({ TableName: table, Key: { id: { S: b.item.id } }, ConsistentRead: true }),
    );

async function authorizerThroughput(b: Bench): Promise<void> {
  const allowed = authorizerEvent(b.token);
  await warm(() => b.handler(allowed));
  await warm(bareGet(b));
  // A rate limit the bench never reaches: each request still makes its one conditional write.
  const limited = await rateLimitedToken(b);
  const fns = [() => throughput(bareGet(b)), () => throughput(() => b.handler(allowed))];
  if (limited) fns.push(() => throughput(() => b.handler(authorizerEvent(limited))));
  const [bare = 0, plain = 0, withLimit = 0] = await interleaved(fns);
  row({
    figure: 'authorizer, key without limits, concurrency 16',
    value: perSecond(plain),
    reference: `bare GetItem: ${perSecond(bare)}`,
    ratio: `${fmt((plain / bare) * 100)}%`,
    target: '≥ 90%',
    met: met(plain / bare >= 0.9),
  });
  row({
    figure: 'authorizer, key with a rate limit, concurrency 16',
    value: limited ? perSecond(withLimit) : '—',
    reference: `bare GetItem: ${perSecond(bare)}`,
    ratio: limited ? `${fmt((withLimit / bare) * 100)}%` : '—',
    target: '≥ 40%',
    met: limited ? met(withLimit / bare >= 0.4) : 'pending',
  });
}

/** A token of a key with a rate limit, if the authorizer enforces rate limits; undefined if not. */
async function rateLimitedToken(b: Bench): Promise<string | undefined> {
  const probe = await benchKey({ rate_limit: 1 });
  const answers: string[] = [];
  for (let i = 0; i < 3; i++) {
    answers.push(
      await b.handler(authorizerEvent(probe.key)).then(
        (r) =>
          (r as { policyDocument: { Statement: { Effect: string }[] } }).policyDocument.Statement[0]
            ?.Effect ?? '',
        () => 'Unauthorized',
      ),
    );
  }
  if (answers.every((a) => a === 'Allow')) {
    progress('rate limits are not enforced by this authorizer: that row is pending');
    return undefined;
  }
  return (await benchKey({ rate_limit: 1_000_000 })).key;
}

async function refusals(b: Bench): Promise<void> {
  const bad = `${b.token.slice(0, -1)}${b.token.endsWith('A') ? 'B' : 'A'}`;
  const measure = async (name: string, call: () => Promise<unknown>) => {
    await warm(call);
    // One caller: the handler's own cost per refusal, audit and metrics included.
    const rates: number[] = [];
    for (let r = 0; r < 3; r++) rates.push(await throughput(call, ROUND_MS / 2, 1));
    const rate = median(rates);
    row({
      figure: `refusals: ${name}, in-process handler`,
      value: perSecond(rate),
      reference: '—',
      ratio: '—',
      target: '≥ 200,000/s',
      met: met(rate >= 200_000),
    });
  };
  const cooled = await cooledDownEvent(b);
  if (cooled) await measure('cooled-down source IP', () => b.handler(cooled).catch(swallow));
  else {
    row({
      figure: 'refusals: cooled-down source IP, in-process handler',
      value: '—',
      reference: '—',
      ratio: '—',
      target: '≥ 200,000/s',
      met: 'pending',
    });
  }
  // The refusal itself, from one source IP: with the cool-down on, that IP would be cooled down after
  // its 20th invalid token and every later refusal would be the case above.
  const coolDown = process.env.LATCHKEY_IP_COOL_DOWN;
  process.env.LATCHKEY_IP_COOL_DOWN = '0,60,300';
  try {
    for (const [name, token] of [
      ['malformed token (cool-down off)', 'not-a-latchkey-token'],
      ['bad checksum (cool-down off)', bad],
    ] as const) {
      const event = authorizerEvent(token, '198.51.100.1');
      await measure(name, () => b.handler(event).catch(swallow));
    }
  } finally {
    if (coolDown === undefined) delete process.env.LATCHKEY_IP_COOL_DOWN;
    else process.env.LATCHKEY_IP_COOL_DOWN = coolDown;
  }
}

/** A request from a source IP the authorizer has cooled down, if it cools any down. */
async function cooledDownEvent(b: Bench): Promise<APIGatewayRequestAuthorizerEvent | undefined> {
  const { formatToken, newKeyId, newSecret } = await import('../functions/domain/token');
  const { authorize } = (await import('../functions/handlers/authorizer')) as unknown as {
    authorize?: (e: APIGatewayRequestAuthorizerEvent) => Promise<{ decision: { reason?: string } }>;
  };
  const ip = '203.0.113.99';
  for (let i = 0; i < 200; i++) {
    // Valid-looking tokens for keys that do not exist: guesses.
    await b.handler(authorizerEvent(formatToken('development', newKeyId(), newSecret()), ip)).catch(swallow);
  }
  const event = authorizerEvent(b.token, ip);
  const reason = (await authorize?.(event))?.decision.reason;
  if (reason !== 'ip_cooling_down') {
    progress('this authorizer cools no source IP down: that row is pending');
    return undefined;
  }
  return event;
}

/** The key item with a new id and secret hash: what a registry of many keys holds. */
function filler(template: ApiKeyItem, id: string): ApiKeyItem {
  return {
    ...template,
    id,
    key_prefix: `sk_dev_${id}`,
    created_sort: `${template.created_at}#${id}`,
    secret_hash: randomBytes(32).toString('hex'),
  };
}

async function seed(db: DynamoDBClient, table: string, items: ApiKeyItem[]): Promise<void> {
  const batches: WriteRequest[][] = [];
  for (let i = 0; i < items.length; i += 25) {
    batches.push(
      items
        .slice(i, i + 25)
        .map((item) => ({ PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) } })),
    );
  }
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let batch = batches[next++]; batch; batch = batches[next++]) {
        let pending: WriteRequest[] | undefined = batch;
        while (pending?.length) {
          const out: BatchWriteItemCommandOutput = await db.send(
            new BatchWriteItemCommand({ RequestItems: { [table]: pending } }),
          );
          pending = out.UnprocessedItems?.[table];
        }
      }
    }),
  );
}

async function tableSize(b: Bench): Promise<void> {
  const { newKeyId } = await import('../functions/domain/token');
  const admin = new DynamoDBClient({});
  try {
    const smallTables = await createTables(admin, 'bench-small');
    const largeTables = await createTables(admin, 'bench-large');
    const small = smallTables.keys;
    const large = largeTables.keys;
    const t = performance.now();
    await seed(admin, small, [
      b.item,
      ...Array.from({ length: SMALL_KEYS - 1 }, () => filler(b.item, newKeyId())),
    ]);
    await seed(admin, large, [
      b.item,
      ...Array.from({ length: LARGE_KEYS - 1 }, () => filler(b.item, newKeyId())),
    ]);
    progress(`seeded ${fmt(SMALL_KEYS + LARGE_KEYS)} keys in ${fmt((performance.now() - t) / 1000, 1)} s`);
    const event = authorizerEvent(b.token);
    const on = (table: string) => async () => {
      process.env.KEYS_TABLE_NAME = table;
      return latencies(100, () => b.handler(event));
    };
    const samples: Record<string, number[]> = { small: [], large: [], bareSmall: [], bareLarge: [] };
    for (let r = 0; r < 12; r++) {
      samples.small?.push(...(await on(small)()));
      samples.large?.push(...(await on(large)()));
      // DynamoDB Local's own share: the same read without the authorizer.
      samples.bareSmall?.push(...(await latencies(50, bareGet(b, small))));
      samples.bareLarge?.push(...(await latencies(50, bareGet(b, large))));
    }
    process.env.KEYS_TABLE_NAME = b.keysTable;
    // DynamoDB Local keeps everything in its Java heap: 100,000 keys left there slow every later section.
    for (const t of Object.values({ ...smallTables, ...largeTables })) {
      await admin.send(new DeleteTableCommand({ TableName: t }));
    }
    const p50Small = median(samples.small ?? []);
    const p50Large = median(samples.large ?? []);
    row({
      figure: `authorizer p50 with ${fmt(LARGE_KEYS)} keys`,
      value: ms(p50Large),
      reference: `p50 with ${fmt(SMALL_KEYS)} keys: ${ms(p50Small)} (bare GetItem p50: ${ms(median(samples.bareSmall ?? []))} and ${ms(median(samples.bareLarge ?? []))})`,
      ratio: times(p50Large / p50Small),
      target: '≤ 1.10×',
      met: met(p50Large / p50Small <= 1.1),
    });
  } finally {
    admin.destroy();
  }
}

async function gateway(b: Bench): Promise<void> {
  const { startLocalStack } = await import('../local/stack');
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint: b.endpoint,
    inMemory: true,
    // Not quiet: the gateway logs as under `npm start` (to the discarded stdout).
    quiet: false,
    tablePrefix: 'bench-gateway',
    config: { demoApiEnvironment: null },
  });
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const { key, record } = await benchKey();
    const url = new URL(stack.url);
    const get = () =>
      new Promise<number>((ok, fail) => {
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/demo/agents',
            agent,
            headers: { authorization: `Bearer ${key}` },
          },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? ok(200) : fail(new Error(`status ${res.statusCode}`)),
            );
          },
        );
        req.on('error', fail);
        req.end();
      });
    const keysTable = stack.tables.KEYS_TABLE_NAME as string;
    const bare = () =>
      b.bare.send(
        new GetItemCommand({ TableName: keysTable, Key: { id: { S: record.id } }, ConsistentRead: true }),
      );
    await warm(get);
    const [reference = 0, routed = 0] = await interleaved([() => throughput(bare), () => throughput(get)]);
    row({
      figure: 'local gateway, protected route, valid key, concurrency 16',
      value: perSecond(routed),
      reference: `bare GetItem: ${perSecond(reference)}`,
      ratio: `${fmt((routed / reference) * 100)}%`,
      target: '≥ 60%',
      met: met(routed / reference >= 0.6),
    });
  } finally {
    agent.destroy();
    await stack.stop();
  }
}

async function betterAuth(b: Bench): Promise<void> {
  type Auth = {
    api: {
      signUpEmail(o: { body: Record<string, string> }): Promise<{ user: { id: string } }>;
      createApiKey(o: { body: Record<string, unknown> }): Promise<{ key: string }>;
      verifyApiKey(o: { body: { key: string } }): Promise<{ valid: boolean }>;
    };
    options: unknown;
  };
  const core = await optional<{ betterAuth(o: unknown): Auth }>('better-auth');
  const plugin =
    (await optional<{ apiKey(o: unknown): unknown }>('@better-auth/api-key')) ??
    (await optional<{ apiKey?(o: unknown): unknown }>('better-auth/plugins'));
  type Migrations = { getMigrations?(o: unknown): Promise<{ runMigrations(): Promise<void> }> };
  const migration =
    (await optional<Migrations>('better-auth/db/migration')) ??
    (await optional<Migrations>('better-auth/db'));
  const sqlite = await optional<{ default: new (file: string) => { close(): void } }>('better-sqlite3');
  const notMeasured = (why: string) =>
    row({
      figure: 'authorizer allow path ÷ better-auth verifyApiKey (SQLite file), concurrency 16',
      value: '—',
      reference: `not measured (${why})`,
      ratio: '—',
      target: '≥ 3×',
      met: 'not measured',
    });
  if (!core || !plugin?.apiKey || !migration?.getMigrations || !sqlite) {
    notMeasured('bench/compare could not be installed or loaded');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-better-auth-'));
  const database = new sqlite.default(join(dir, 'auth.sqlite'));
  try {
    const auth = core.betterAuth({
      database,
      secret: randomBytes(32).toString('hex'),
      baseURL: 'http://127.0.0.1',
      emailAndPassword: { enabled: true },
      logger: { disabled: true },
      // Like the Latchkey key measured: no rate limit on the key.
      plugins: [plugin.apiKey({ rateLimit: { enabled: false } })],
    });
    await (await migration.getMigrations(auth.options)).runMigrations();
    const { user } = await auth.api.signUpEmail({
      body: { email: 'bench@example.com', password: randomBytes(16).toString('hex'), name: 'bench' },
    });
    const { key } = await auth.api.createApiKey({ body: { userId: user.id, name: 'bench' } });
    const verify = async () => {
      if (!(await auth.api.verifyApiKey({ body: { key } })).valid)
        throw new Error('better-auth refused its own key');
    };
    await warm(verify);
    const allowed = authorizerEvent(b.token);
    const [theirs = 0, ours = 0] = await interleaved([
      () => throughput(verify),
      () => throughput(() => b.handler(allowed)),
    ]);
    row({
      figure: 'authorizer allow path ÷ better-auth verifyApiKey (SQLite file), concurrency 16',
      value: perSecond(ours),
      reference: `better-auth: ${perSecond(theirs)}`,
      ratio: times(ours / theirs),
      target: '≥ 3×',
      met: met(ours / theirs >= 3),
    });
  } catch (error) {
    notMeasured(`better-auth failed: ${(error as Error).message}`);
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The reference bundle: the DynamoDB client alone, sending one GetItem. */
const REFERENCE_SOURCE = `
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({});
export const handler = (event) => client.send(new GetItemCommand({ TableName: 't', Key: { id: { S: event.id } } }));
`;

async function bundles(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-bundles-'));
  try {
    const options = {
      bundle: true,
      platform: 'node' as const,
      format: 'cjs' as const,
      minify: BUNDLING.minify,
      sourcemap: BUNDLING.sourceMap,
      target: BUNDLING.target,
      mainFields: [...BUNDLING.mainFields],
      logLevel: 'error' as const,
    };
    const built: { name: string; file: string; nodeOptions: string }[] = [];
    const referenceFile = join(dir, 'reference', 'index.js');
    await build({
      ...options,
      stdin: { contents: REFERENCE_SOURCE, resolveDir: REPO_ROOT, loader: 'js' },
      outfile: referenceFile,
    });
    const declared = [
      ...new Map((Object.values(functions) as FunctionDeclaration[]).map((f) => [f.name, f])).values(),
    ];
    for (const fn of declared) {
      const file = join(dir, fn.name, 'index.js');
      mkdirSync(join(dir, fn.name), { recursive: true });
      await build({ ...options, entryPoints: [resolve(REPO_ROOT, fn.entry)], outfile: file });
      built.push({ name: fn.name, file, nodeOptions: runtimeEnvironment(fn).NODE_OPTIONS ?? '' });
    }
    const loader = join(dir, 'load.js');
    writeFileSync(
      loader,
      'const t = process.hrtime.bigint(); require(process.argv[2]); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));',
    );
    const nodeOptions = runtimeEnvironment(functions.authorizer).NODE_OPTIONS ?? '';
    const loadOnce = (file: string, options = nodeOptions) => {
      const out = spawnSync(process.execPath, [loader, file], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          NODE_OPTIONS: options,
          AWS_REGION: 'us-east-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });
      if (out.status !== 0) throw new Error(`loading ${file} failed: ${out.stderr}`);
      return Number(out.stdout);
    };
    const loadTimes = (file: string, n: number, options?: string) =>
      median(Array.from({ length: n }, () => loadOnce(file, options)));
    const size = (file: string) => statSync(file).size;
    // The authorizer and the reference in turn, so drift hits both alike.
    const authorizer = built.find((b) => b.name === functions.authorizer.name);
    if (!authorizer) throw new Error('no authorizer bundle');
    const pairs = Array.from({ length: 15 }, () => [loadOnce(authorizer.file), loadOnce(referenceFile)]);
    const refLoad = median(pairs.map((p) => p[1] as number));
    const authLoad = median(pairs.map((p) => p[0] as number));
    const refSize = size(referenceFile);
    row({
      figure: 'authorizer bundle size',
      value: kb(size(authorizer.file)),
      reference: `DynamoDB client alone: ${kb(refSize)}`,
      ratio: times(size(authorizer.file) / refSize),
      target: '≤ 1.10×',
      met: met(size(authorizer.file) / refSize <= 1.1),
    });
    row({
      figure: 'authorizer module load (median of 15 fresh processes)',
      value: ms(authLoad),
      reference: `DynamoDB client alone: ${ms(refLoad)}`,
      ratio: times(authLoad / refLoad),
      target: '≤ 1.10×',
      met: met(authLoad / refLoad <= 1.1),
    });
    for (const f of built.filter((b) => b !== authorizer)) {
      const load = loadTimes(f.file, 5, f.nodeOptions);
      row({
        figure: `${f.name}: bundle size, module load`,
        value: `${kb(size(f.file))}, ${ms(load)}`,
        reference: `${kb(refSize)}, ${ms(refLoad)}`,
        ratio: `${times(size(f.file) / refSize)}, ${times(load / refLoad)}`,
        target: '—',
        met: '—',
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The admin console's JavaScript budget (docs/console.md): built as `npm start` and CDK build it. */
function consoleBudget(): void {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-console-'));
  try {
    const { gzippedJsBytes } = buildConsole(dir);
    row({
      figure: 'admin console JavaScript, gzipped',
      value: kb(gzippedJsBytes),
      reference: '—',
      ratio: '—',
      target: `≤ ${kb(CONSOLE_JS_BUDGET_BYTES)}`,
      met: met(gzippedJsBytes <= CONSOLE_JS_BUDGET_BYTES),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Issue 3's target: a change is visible through the audit API within 2 s locally (stream → poller → consumer). */
async function auditVisibility(endpoint: string): Promise<void> {
  const { startLocalStack } = await import('../local/stack');
  const { localWorkers } = await import('../local/workers');
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint: endpoint,
    inMemory: true,
    quiet: true,
    tablePrefix: 'bench-audit',
    workers: localWorkers(),
  });
  try {
    const { changeKey } = await import('../functions/services/api-keys');
    const { keyAudit } = await import('../functions/services/audit');
    const { record } = await benchKey();
    const samples: number[] = [];
    for (let i = 1; i <= 5; i++) {
      await changeKey(record.id, { name: `audit ${i}` }, { principal: 'bench' });
      const t = performance.now();
      while ((await keyAudit(record.id, 100)).items.length < i + 1) {
        if (performance.now() - t > 30_000) throw new Error('audit entry never appeared');
        await new Promise((r) => setTimeout(r, 10));
      }
      samples.push(performance.now() - t);
    }
    const worst = Math.max(...samples);
    row({
      figure: 'audit entry visible after a change (local stack, worst of 5)',
      value: ms(worst),
      reference: '—',
      ratio: '—',
      target: '≤ 2,000 ms',
      met: met(worst <= 2000),
    });
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  silenceStdout();
  if (runs('secret')) await secretCheck();
  const db = await startDynamoDbLocal({ port: 0 });
  try {
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB_STREAMS: db.endpoint,
    });
    const admin = new DynamoDBClient({});
    const config = readLocalConfig({ demoApiEnvironment: null });
    const tables = await createTables(admin, 'bench');
    admin.destroy();
    const env = localFunctionEnvironment(
      { tables, kmsKeyId: DEFAULT_KMS_KEY_ID, eventBusName: config.eventBusName },
      config,
    );
    Object.assign(process.env, env.merged);
    const { handler } = (await import('../functions/handlers/authorizer')) as unknown as { handler: Handler };
    const { getKey } = await import('../functions/repositories/keys-repository');
    const { key, record } = await benchKey();
    const item = await getKey(record.id);
    if (!item) throw new Error('bench key not stored');
    const b: Bench = {
      endpoint: db.endpoint,
      handler,
      keysTable: tables.keys,
      token: key,
      item,
      bare: new DynamoDBClient({}),
    };
    if (runs('authorizer')) await authorizerThroughput(b);
    if (runs('refusals')) await refusals(b);
    if (runs('better-auth')) await betterAuth(b);
    if (runs('gateway')) await gateway(b);
    if (runs('audit')) await auditVisibility(db.endpoint);
    // Last: 100,000 keys in DynamoDB Local's heap slow it down for whatever runs after.
    if (runs('size')) await tableSize(b);
    b.bare.destroy();
  } finally {
    await db.stop();
  }
  if (runs('bundles')) await bundles();
  if (runs('console')) consoleBudget();
  const elapsed = performance.now() - started;
  if (!ONLY) {
    row({
      figure: 'npm run bench duration',
      value: `${fmt(elapsed / 1000)} s`,
      reference: '—',
      ratio: '—',
      target: '< 300 s',
      met: met(elapsed < 300_000),
    });
  }
  printTable(elapsed);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
