/**
 * Every management route's success and refusal paths, handlers called with API Gateway events
 * against DynamoDB Local and the local KMS endpoint. Refusals must write nothing.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { parseToken } from '../../functions/domain/token';
import { handler as createHandler } from '../../functions/handlers/management/create-key';
import { handler as getHandler } from '../../functions/handlers/management/get-key';
import { handler as usageHandler } from '../../functions/handlers/management/get-usage';
import { handler as listHandler } from '../../functions/handlers/management/list-keys';
import { handler as scopesHandler } from '../../functions/handlers/management/list-scopes';
import { handler as revokeHandler } from '../../functions/handlers/management/revoke-key';
import { handler as rotateHandler } from '../../functions/handlers/management/rotate-key';
import { handler as updateHandler } from '../../functions/handlers/management/update-key';
import { getKey } from '../../functions/repositories/keys-repository';
import { decryptMetadata } from '../../functions/repositories/metadata-cipher';
import { dynamodb } from '../../functions/shared/clients';
import type { LocalStack } from '../../local/stack';
import { ADMIN_ARN, apiEvent, lambdaContext } from '../support/events';
import { startTestStack } from '../support/local-stack';
import { seedTestTenancy } from '../support/tenancy';

type Handler = (e: APIGatewayProxyEvent, c: typeof lambdaContext) => Promise<APIGatewayProxyResult>;
let stack: LocalStack;

async function call(h: unknown, event: APIGatewayProxyEvent) {
  const res = await (h as Handler)(event, lambdaContext);
  return { status: res.statusCode, body: JSON.parse(res.body) };
}

const create = (body: unknown, extra: Parameters<typeof apiEvent>[2] = {}) =>
  call(createHandler, apiEvent('POST', '/v1/api-keys', { body, ...extra }));
const byId = (method: string, resource: string, id: string, extra: Parameters<typeof apiEvent>[2] = {}) =>
  apiEvent(method, resource, { params: { id }, ...extra });

async function rawKeyItems(): Promise<unknown[]> {
  const out = await dynamodb.send(new ScanCommand({ TableName: process.env.KEYS_TABLE_NAME }));
  return out.Items ?? [];
}

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('POST /v1/api-keys', () => {
  it('creates a key and returns the token once, with the record', async () => {
    const res = await create({
      name: 'CI/CD Pipeline',
      description: 'deploys',
      scopes: ['agents:read', 'deployments:write'],
      rate_limit: 100,
      environment: 'production',
      expires_in_days: 30,
      ip_allowlist: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.4'],
      organization_id: 'acme',
      workspace_id: 'ws1',
      metadata: { team: 'platform' },
    });
    expect(res.status).toBe(201);
    const parsed = parseToken(res.body.key);
    expect(parsed?.id).toBe(res.body.id);
    expect(res.body).toMatchObject({
      name: 'CI/CD Pipeline',
      key_prefix: `sk_live_${res.body.id}`,
      environment: 'production',
      key_type: 'workspace',
      organization_id: 'acme',
      workspace_id: 'ws1',
      scopes: ['agents:read', 'deployments:write'],
      rate_limit: 100,
      ip_allowlist: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.4/32'],
      status: 'active',
      created_by: ADMIN_ARN,
      metadata: { team: 'platform' },
    });
    expect(Date.parse(res.body.expires_at)).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(JSON.stringify(res.body)).not.toMatch(/secret_hash|ciphertext/);
    // The token is never shown again.
    const again = await call(getHandler, byId('GET', '/v1/api-keys/{id}', res.body.id));
    expect(again.status).toBe(200);
    expect(again.body.key).toBeUndefined();
    expect(JSON.stringify(again.body)).not.toContain(parsed?.secret);
    expect(again.body.metadata).toEqual({ team: 'platform' });
  });

  it('applies defaults: development, workspace key, default organization', async () => {
    const res = await create({ name: 'minimal', scopes: ['agents:read'] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      environment: 'development',
      key_type: 'workspace',
      organization_id: 'default',
      workspace_id: 'default',
      expires_at: null,
    });
    expect(res.body.key).toMatch(/^sk_dev_/);
  });

  const refusals: [string, unknown, number, string][] = [
    ['a missing name', { scopes: ['agents:read'] }, 400, 'name'],
    ['a name over 128 characters', { name: 'x'.repeat(129), scopes: ['agents:read'] }, 400, 'name'],
    ['a wrong type', { name: 42, scopes: ['agents:read'] }, 400, 'name'],
    ['an unknown scope', { name: 'n', scopes: ['agents:fly'] }, 400, 'scopes.0'],
    ['a scope not in the catalog', { name: 'n', scopes: ['billing:read'] }, 400, 'scopes.0'],
    ['no scopes', { name: 'n', scopes: [] }, 400, 'scopes'],
    ['a system scope on a workspace key', { name: 'n', scopes: ['system:admin'] }, 400, 'scopes.0'],
    [
      'a bad CIDR',
      { name: 'n', scopes: ['agents:read'], ip_allowlist: ['10.0.0.0/33'] },
      400,
      'ip_allowlist.0',
    ],
    [
      'more than 50 CIDRs',
      { name: 'n', scopes: ['agents:read'], ip_allowlist: Array(51).fill('10.0.0.1') },
      400,
      'ip_allowlist',
    ],
    [
      'an expiry in the past',
      { name: 'n', scopes: ['agents:read'], expires_at: '2020-01-01T00:00:00Z' },
      400,
      'expires_at',
    ],
    [
      'an expiry that is not a timestamp',
      { name: 'n', scopes: ['agents:read'], expires_at: 'tomorrow' },
      400,
      'expires_at',
    ],
    [
      'an unknown environment',
      { name: 'n', scopes: ['agents:read'], environment: 'prod' },
      400,
      'environment',
    ],
    ['an unknown field', { name: 'n', scopes: ['agents:read'], admin: true }, 400, ''],
    [
      'metadata over 4 KB',
      { name: 'n', scopes: ['agents:read'], metadata: { blob: 'x'.repeat(4100) } },
      400,
      'metadata',
    ],
    [
      'a workspace on an organization key',
      { name: 'n', scopes: ['agents:read'], key_type: 'organization', workspace_id: 'w' },
      400,
      'workspace_id',
    ],
  ];

  it.each(refusals)(
    'refuses %s (status and field named), and writes nothing',
    async (_what, body, status, field) => {
      const before = (await rawKeyItems()).length;
      const res = await create(body);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe('validation_error');
      expect(res.body.error.details.length).toBeGreaterThan(0);
      if (field) expect(res.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
      expect((await rawKeyItems()).length).toBe(before);
    },
  );

  it('refuses malformed JSON (400), a body over 16 KB (413) and a non-JSON body (415)', async () => {
    const before = (await rawKeyItems()).length;
    const bad = await call(createHandler, apiEvent('POST', '/v1/api-keys', { rawBody: '{"name": "x",' }));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('malformed_json');
    const big = await call(
      createHandler,
      apiEvent('POST', '/v1/api-keys', {
        rawBody: JSON.stringify({ name: 'x', scopes: ['agents:read'], description: 'y'.repeat(17_000) }),
      }),
    );
    expect(big.status).toBe(413);
    const text = await call(
      createHandler,
      apiEvent('POST', '/v1/api-keys', { rawBody: 'name=x', headers: { 'Content-Type': 'text/plain' } }),
    );
    expect(text.status).toBe(415);
    const none = await call(createHandler, apiEvent('POST', '/v1/api-keys', {}));
    expect(none.status).toBe(400);
    expect((await rawKeyItems()).length).toBe(before);
  });

  it('refuses system keys without root mode (403)', async () => {
    const res = await create({ name: 'sys', scopes: ['system:admin'], key_type: 'system' });
    expect(res.status).toBe(403);
  });

  it('answers 503 when apiKeys.enabled is false', async () => {
    process.env.LATCHKEY_API_KEYS_ENABLED = 'false';
    try {
      const res = await create({ name: 'n', scopes: ['agents:read'] });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('service_disabled');
    } finally {
      process.env.LATCHKEY_API_KEYS_ENABLED = 'true';
    }
  });
});

describe('GET /v1/api-keys', () => {
  const org = `list${Date.now()}`;
  const ids: string[] = [];
  beforeAll(async () => {
    await seedTestTenancy({ organizations: [{ organization_id: org, name: org, workspaces: ['wa', 'wb'] }] });
    for (let i = 0; i < 7; i++) {
      const res = await create({
        name: `k${i}`,
        scopes: [i % 2 ? 'metrics:read' : 'agents:read'],
        environment: i < 5 ? 'development' : 'staging',
        organization_id: org,
        workspace_id: i < 3 ? 'wa' : 'wb',
      });
      ids.push(res.body.id);
    }
    await call(revokeHandler, byId('DELETE', '/v1/api-keys/{id}', ids[0] as string));
    await call(
      updateHandler,
      byId('PATCH', '/v1/api-keys/{id}', ids[1] as string, { body: { enabled: false } }),
    );
  });
  const list = (query: Record<string, string>) =>
    call(listHandler, apiEvent('GET', '/v1/api-keys', { query }));

  it('pages newest first through every key exactly once', async () => {
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const res = await list({ organization_id: org, limit: '3', ...(next ? { next_token: next } : {}) });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((k: { id: string }) => k.id));
      next = res.body.next_token ?? undefined;
    } while (next);
    expect(seen).toEqual([...ids].reverse());
  });

  it('filters by status, environment, scope and workspace', async () => {
    const ids_ = async (q: Record<string, string>) =>
      (await list({ organization_id: org, ...q })).body.items.map((k: { id: string }) => k.id).sort();
    expect(await ids_({ status: 'revoked' })).toEqual([ids[0]]);
    expect(await ids_({ status: 'disabled' })).toEqual([ids[1]]);
    expect(await ids_({ environment: 'staging' })).toEqual([ids[5], ids[6]].sort());
    expect(await ids_({ scope: 'metrics:read' })).toEqual([ids[1], ids[3], ids[5]].sort());
    expect(await ids_({ workspace_id: 'wa' })).toEqual([ids[0], ids[1], ids[2]].sort());
    expect(await ids_({ status: 'active', scope: 'agents:read', limit: '1' })).toHaveLength(1);
  });

  it('lists across organizations without a filter', async () => {
    const res = await list({ limit: '100' });
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThanOrEqual(7);
  });

  it('refuses bad filters and tokens', async () => {
    expect((await list({ limit: '0' })).status).toBe(400);
    expect((await list({ limit: '101' })).status).toBe(400);
    expect((await list({ status: 'sleeping' })).status).toBe(400);
    expect((await list({ colour: 'blue' })).status).toBe(400);
    expect((await list({ next_token: 'not-a-token' })).status).toBe(400);
    // A token from another listing (other organization, or another index) is refused, not a 500.
    const page = await list({ organization_id: org, limit: '1' });
    const token = page.body.next_token as string;
    expect(token).toEqual(expect.any(String));
    expect((await list({ organization_id: 'someone-else', next_token: token })).status).toBe(400);
    expect((await list({ next_token: token })).status).toBe(400);
    const forged = Buffer.from(JSON.stringify({ id: 'x', organization_id: org })).toString('base64url');
    expect((await list({ organization_id: org, next_token: forged })).status).toBe(400);
  });
});

describe('GET /v1/api-keys/scopes', () => {
  it('returns the catalog with module and risk level', async () => {
    const res = await call(scopesHandler, apiEvent('GET', '/v1/api-keys/scopes'));
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          scope: 'agents:read',
          module: 'agents',
          permission: 'read',
          risk_level: 'low',
        }),
        expect.objectContaining({ scope: 'gateways:write', module: 'gateways' }),
        expect.objectContaining({ scope: 'demo-builds:execute', module: 'demo-builds', risk_level: 'high' }),
      ]),
    );
  });
});

describe('GET/PATCH/DELETE /v1/api-keys/{id}', () => {
  it('answers 404 for unknown and impossible ids', async () => {
    for (const id of ['AAAAAAAAAAAA', 'nope', '../../etc']) {
      const res = await call(getHandler, byId('GET', '/v1/api-keys/{id}', id));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    expect(
      (await call(updateHandler, byId('PATCH', '/v1/api-keys/{id}', 'AAAAAAAAAAAA', { body: { name: 'x' } })))
        .status,
    ).toBe(404);
    expect((await call(revokeHandler, byId('DELETE', '/v1/api-keys/{id}', 'AAAAAAAAAAAA'))).status).toBe(404);
    expect((await call(rotateHandler, byId('POST', '/v1/api-keys/{id}/rotate', 'AAAAAAAAAAAA'))).status).toBe(
      404,
    );
    expect((await call(usageHandler, byId('GET', '/v1/api-keys/{id}/usage', 'AAAAAAAAAAAA'))).status).toBe(
      404,
    );
  });

  it('changes fields, clears them with null, and keeps metadata encrypted', async () => {
    const { body: created } = await create({
      name: 'a',
      scopes: ['agents:read'],
      rate_limit: 5,
      metadata: { v: 1 },
    });
    const res = await call(
      updateHandler,
      byId('PATCH', '/v1/api-keys/{id}', created.id, {
        body: {
          name: 'b',
          scopes: ['agents:write', 'metrics:read'],
          rate_limit: null,
          ip_allowlist: ['10.1.0.0/16'],
          metadata: { v: 2 },
        },
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      name: 'b',
      scopes: ['agents:write', 'metrics:read'],
      rate_limit: null,
      ip_allowlist: ['10.1.0.0/16'],
      metadata: { v: 2 },
    });
    const items = JSON.stringify(await rawKeyItems());
    expect(items).not.toContain('"v":2');
  });

  it('refuses an empty patch, bad values and unknown fields, writing nothing', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'] });
    for (const body of [
      {},
      { scopes: ['nope:read'] },
      { expires_at: '2001-01-01T00:00:00Z' },
      { enabled: 'yes' },
      { status: 'active' },
    ]) {
      const res = await call(updateHandler, byId('PATCH', '/v1/api-keys/{id}', created.id, { body }));
      expect(res.status).toBe(400);
    }
    const after = await call(getHandler, byId('GET', '/v1/api-keys/{id}', created.id));
    expect(after.body.updated_at).toBe(created.updated_at);
  });

  it('refuses system scopes on a non-system key through PATCH too', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'] });
    const res = await call(
      updateHandler,
      byId('PATCH', '/v1/api-keys/{id}', created.id, { body: { scopes: ['agents:read', 'system:admin'] } }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([
      { field: 'scopes.1', message: 'system:admin is for system keys only' },
    ]);
    const after = await call(getHandler, byId('GET', '/v1/api-keys/{id}', created.id));
    expect(after.body.scopes).toEqual(['agents:read']);
  });

  it('revokes even while other changes race it', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'] });
    const patches = Array.from({ length: 5 }, (_, i) =>
      call(updateHandler, byId('PATCH', '/v1/api-keys/{id}', created.id, { body: { name: `n${i}` } })),
    );
    const revoke = call(revokeHandler, byId('DELETE', '/v1/api-keys/{id}', created.id));
    const [revoked] = await Promise.all([revoke, ...patches]);
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const after = await call(getHandler, byId('GET', '/v1/api-keys/{id}', created.id));
    expect(after.body.status).toBe('revoked');
  });

  it('revokes permanently and idempotently; a revoked key cannot be enabled (409)', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'] });
    const first = await call(revokeHandler, byId('DELETE', '/v1/api-keys/{id}', created.id));
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ status: 'revoked', revoked_by: ADMIN_ARN });
    const second = await call(revokeHandler, byId('DELETE', '/v1/api-keys/{id}', created.id));
    expect(second.status).toBe(200);
    expect(second.body.revoked_at).toBe(first.body.revoked_at);
    const enable = await call(
      updateHandler,
      byId('PATCH', '/v1/api-keys/{id}', created.id, { body: { enabled: true } }),
    );
    expect(enable.status).toBe(409);
    expect(enable.body.error.code).toBe('conflict');
    const rotate = await call(rotateHandler, byId('POST', '/v1/api-keys/{id}/rotate', created.id));
    expect(rotate.status).toBe(409);
  });
});

describe('POST /v1/api-keys/{id}/rotate', () => {
  it('returns a new token for the same id with the grace expiry', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'] });
    const res = await call(
      rotateHandler,
      byId('POST', '/v1/api-keys/{id}/rotate', created.id, { body: { grace_period_seconds: 3600 } }),
    );
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(created.id);
    expect(res.body.key).not.toBe(created.key);
    expect(parseToken(res.body.key)?.id).toBe(created.id);
    expect(Date.parse(res.body.previous_key_expires_at)).toBeGreaterThan(Date.now() + 3500_000);
  });

  it('refuses a grace period out of range', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'] });
    for (const grace of [-1, 604_801, 'soon']) {
      const res = await call(
        rotateHandler,
        byId('POST', '/v1/api-keys/{id}/rotate', created.id, { body: { grace_period_seconds: grace } }),
      );
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].field).toBe('grace_period_seconds');
    }
  });
});

describe('GET /v1/api-keys/{id}/usage', () => {
  it('answers the current window', async () => {
    const { body: created } = await create({ name: 'a', scopes: ['agents:read'], rate_limit: 100 });
    const res = await call(usageHandler, byId('GET', '/v1/api-keys/{id}/usage', created.id));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ key_id: created.id, request_count: 0, rate_limit: 100, remaining: 100 });
    expect(Date.parse(res.body.reset_at) - Date.parse(res.body.window_start)).toBe(60_000);
  });
});

describe('metadata encryption', () => {
  it('binds the ciphertext to the key: another key id or organization cannot decrypt it', async () => {
    const { body: created } = await create({
      name: 'm',
      scopes: ['agents:read'],
      organization_id: 'acme',
      metadata: { x: 1 },
    });
    const item = await getKey(created.id);
    const blob = item?.metadata_ciphertext;
    if (!blob) throw new Error('no ciphertext stored');
    await expect(decryptMetadata(blob, { key_id: created.id, organization_id: 'acme' })).resolves.toEqual({
      x: 1,
    });
    await expect(
      decryptMetadata(blob, { key_id: 'BBBBBBBBBBBB', organization_id: 'acme' }),
    ).rejects.toThrow();
    await expect(decryptMetadata(blob, { key_id: created.id, organization_id: 'other' })).rejects.toThrow();
  });
});

describe('storage', () => {
  it('keeps neither tokens nor secrets in any item of the keys table', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await create({ name: `s${i}`, scopes: ['agents:read'] });
      tokens.push(res.body.key);
      const rotated = await call(
        rotateHandler,
        byId('POST', '/v1/api-keys/{id}/rotate', res.body.id, { body: { grace_period_seconds: 60 } }),
      );
      tokens.push(rotated.body.key);
    }
    const raw = JSON.stringify(await rawKeyItems());
    for (const token of tokens) {
      expect(raw).not.toContain(token);
      expect(raw).not.toContain(parseToken(token)?.secret);
    }
  });
});
