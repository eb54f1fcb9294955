/**
 * Input that used to give a 500 or be stored changed (docs/key-changes.md): each is a 400 naming the
 * field, in the error shape, and writes nothing.
 */
import type { LocalStack } from '../../local/stack';
import { startTestStack } from '../support/local-stack';
import { type Answer, call, hasErrorShape, snapshot } from '../support/management';

let stack: LocalStack;
let tables: string[];
let keyId: string;

beforeAll(async () => {
  stack = await startTestStack();
  tables = [stack.tables.KEYS_TABLE_NAME as string, stack.tables.AUDIT_TABLE_NAME as string];
  const res = await call('POST', '/v1/api-keys', { body: { name: 'fixture', scopes: ['agents:read'] } });
  keyId = res.body.id;
});
afterAll(async () => {
  await stack?.stop();
});

const token = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const valid = { name: 'n', scopes: ['agents:read'] };

/** Sends the request and expects a 400 that names `field` and left every table as it was. */
async function refused(send: () => Promise<Answer>, field: string): Promise<Answer> {
  const before = await snapshot(tables);
  const res = await send();
  expect(res.status).toBe(400);
  expect(hasErrorShape(res.body)).toBe(true);
  expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
  expect(await snapshot(tables)).toBe(before);
  return res;
}

const create = (body: unknown) => () => call('POST', '/v1/api-keys', { body });
const update = (body: unknown) => () => call('PATCH', '/v1/api-keys/{id}', { params: { id: keyId }, body });

describe('next_token with empty or odd key attributes', () => {
  const emptyKeys: [string, () => Promise<Answer>][] = [
    [
      'the key listing',
      () =>
        call('GET', '/v1/api-keys', {
          query: { next_token: token({ id: '', kind: 'api_key', created_sort: '' }) },
        }),
    ],
    [
      'the key listing of an organization',
      () =>
        call('GET', '/v1/api-keys', {
          query: {
            organization_id: 'default',
            next_token: token({ id: '', organization_id: 'default', created_sort: '' }),
          },
        }),
    ],
    [
      'a key audit',
      () =>
        call('GET', '/v1/api-keys/{id}/audit', {
          params: { id: keyId },
          query: { next_token: token({ pk: `KEY#${keyId}`, sk: '' }) },
        }),
    ],
    [
      'the organization audit',
      () =>
        call('GET', '/v1/audit', {
          query: { next_token: token({ pk: '', sk: '', organization_id: 'default' }) },
        }),
    ],
    [
      'the organization audit of one key',
      () =>
        call('GET', '/v1/audit', {
          query: { key_id: keyId, next_token: token({ pk: `KEY#${keyId}`, sk: '' }) },
        }),
    ],
  ];
  it.each(emptyKeys)('is refused by %s', async (_listing, send) => {
    await refused(send, 'next_token');
  });

  it('is refused when an attribute is too long for a key, or not well-formed Unicode', async () => {
    for (const created_sort of [
      'x'.repeat(600),
      // 300 characters, 600 bytes: too long for a key although short as text.
      '\u00e9'.repeat(300),
      '\ud800',
      `2030-01-01T00:00:00.000Z#\udfff`,
    ]) {
      await refused(
        () =>
          call('GET', '/v1/api-keys', {
            query: { next_token: token({ id: 'AAAAAAAAAAAA', kind: 'api_key', created_sort }) },
          }),
        'next_token',
      );
    }
  });
});

describe('metadata', () => {
  it('nested 5,000 deep (10 KB) is refused, not a stack overflow', async () => {
    let deep = '1';
    for (let i = 0; i < 5000; i++) deep = `[${deep}]`;
    const rawBody = `{"name":"n","scopes":["agents:read"],"metadata":{"x":${deep}}}`;
    expect(rawBody.length).toBeLessThan(16 * 1024);
    await refused(() => call('POST', '/v1/api-keys', { rawBody }), 'metadata');
    await refused(
      () =>
        call('PATCH', '/v1/api-keys/{id}', { params: { id: keyId }, rawBody: `{"metadata":{"x":${deep}}}` }),
      'metadata',
    );
  });

  it('deeper than 10 levels is refused; 10 levels are fine', async () => {
    const nest = (levels: number) => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
      return v as Record<string, unknown>;
    };
    const ten = { x: nest(9) }; // the metadata object itself is level 1
    const eleven = { x: nest(10) };
    await refused(create({ ...valid, metadata: eleven }), 'metadata');
    const ok = await call('POST', '/v1/api-keys', { body: { ...valid, metadata: ten } });
    expect(ok.status).toBe(201);
    expect(ok.body.metadata).toEqual(ten);
  });

  it('with a __proto__ key anywhere is refused, not silently dropped', async () => {
    for (const json of [
      '{"__proto__":{"admin":true},"team":"a"}',
      '{"team":{"__proto__":{"admin":true}}}',
      '{"list":[{"ok":1},{"__proto__":1}]}',
    ]) {
      await refused(
        () =>
          call('POST', '/v1/api-keys', {
            rawBody: `{"name":"n","scopes":["agents:read"],"metadata":${json}}`,
          }),
        'metadata',
      );
      await refused(
        () => call('PATCH', '/v1/api-keys/{id}', { params: { id: keyId }, rawBody: `{"metadata":${json}}` }),
        'metadata',
      );
    }
  });

  it('keeps other odd but harmless keys as given', async () => {
    const metadata = { constructor: 1, prototype: { toString: 'x' }, '': [] };
    const ok = await call('POST', '/v1/api-keys', { body: { ...valid, metadata } });
    expect(ok.status).toBe(201);
    expect(ok.body.metadata).toEqual(metadata);
  });
});

describe('timestamps', () => {
  // Each is valid ISO-8601 with an offset, but is no 4-digit-year UTC instant once converted.
  const outOfRange = ['9999-12-31T23:00:00-02:00', '9999-12-31T23:59:59.999-00:01'];
  const early = '0000-01-01T00:30:00+01:00';

  it.each(outOfRange)('expires_at %s is refused on create and patch', async (expires_at) => {
    await refused(create({ ...valid, expires_at }), 'expires_at');
    await refused(update({ expires_at }), 'expires_at');
  });

  it('expires_at with more than millisecond precision is refused, not truncated', async () => {
    await refused(create({ ...valid, expires_at: '2099-01-01T00:00:00.0001Z' }), 'expires_at');
    await refused(update({ expires_at: '2099-01-01T00:00:00.123456Z' }), 'expires_at');
    // Zeros beyond the millisecond change nothing.
    const ok = await call('POST', '/v1/api-keys', {
      body: { ...valid, expires_at: '2099-01-01T01:00:00.120000+01:00' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.expires_at).toBe('2099-01-01T00:00:00.120Z');
  });

  it('the largest instant is still accepted', async () => {
    const ok = await call('POST', '/v1/api-keys', {
      body: { ...valid, expires_at: '9999-12-31T23:59:59.999Z' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.expires_at).toBe('9999-12-31T23:59:59.999Z');
  });

  it.each([...outOfRange, early])('audit from/to %s is refused', async (at) => {
    await refused(() => call('GET', '/v1/audit', { query: { from: at } }), 'query.from');
    await refused(() => call('GET', '/v1/audit', { query: { to: at } }), 'query.to');
  });
});

describe('name and description', () => {
  const bad: [string, string][] = [
    ['NUL', 'a\u0000b'],
    ['ESC', 'a\u001b[31mred'],
    ['BEL', 'a\u0007'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085b'],
    ['CSI (C1)', 'a\u009b31m'],
    ['a bidi override', 'abc\u202Efdp.exe'],
    ['a bidi embedding', '\u202Aab'],
    ['a bidi isolate', 'a\u2066b\u2069'],
    ['a lone high surrogate', 'a\ud800b'],
    ['a lone low surrogate', 'a\udc00'],
  ];
  it.each(bad)('with %s is refused', async (_what, text) => {
    await refused(create({ ...valid, name: text }), 'name');
    await refused(create({ ...valid, description: text }), 'description');
    await refused(update({ name: text }), 'name');
    await refused(update({ description: text }), 'description');
  });

  it('a name with a line break is refused; a description may have tabs and line breaks', async () => {
    await refused(create({ ...valid, name: 'a\nb' }), 'name');
    const ok = await call('POST', '/v1/api-keys', {
      body: { ...valid, name: 'Ünïcødé 🔑 名前', description: 'line 1\nline 2\tand a tab' },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.name).toBe('Ünïcødé 🔑 名前');
    expect(ok.body.description).toBe('line 1\nline 2\tand a tab');
  });
});

describe('rotation policy', () => {
  const destination = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:latchkey/x-AbCdEf';
  it('whose grace period is not shorter than its period is refused', async () => {
    for (const rotation of [
      { every_days: 1, grace_period_seconds: 86_400, destination },
      { every_days: 2, grace_period_seconds: 604_800, destination },
    ]) {
      await refused(create({ ...valid, rotation }), 'rotation.grace_period_seconds');
      await refused(update({ rotation }), 'rotation.grace_period_seconds');
    }
  });

  it('without a grace period gets one that fits: a day, or half the period when that is shorter', async () => {
    const daily = await call('POST', '/v1/api-keys', {
      body: { ...valid, rotation: { every_days: 1, destination } },
    });
    expect(daily.status).toBe(201);
    expect(daily.body.rotation.grace_period_seconds).toBe(43_200);
    const weekly = await call('POST', '/v1/api-keys', {
      body: { ...valid, rotation: { every_days: 7, destination } },
    });
    expect(weekly.body.rotation.grace_period_seconds).toBe(86_400);
  });
});

describe('rotate body', () => {
  it('refuses a non-boolean end_previous_grace', async () => {
    await refused(
      () =>
        call('POST', '/v1/api-keys/{id}/rotate', {
          params: { id: keyId },
          body: { end_previous_grace: 'yes' },
        }),
      'end_previous_grace',
    );
  });
});
