/**
 * Every authorizer outcome of docs/authorizer.md, against DynamoDB Local: keys are made with the real
 * service code, then the exported handler is called with API Gateway REQUEST events.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Actor } from '../../functions/domain/api-key';
import { formatToken, parseToken } from '../../functions/domain/token';
import { changeKey, createKey, revokeKey, rotateKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { routeScopeMap } from '../../lib/declaration';
import { authorizerEvent } from '../support/events';
import { useFreshTables } from '../support/tables';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
process.env.LATCHKEY_API_ENVIRONMENT = 'development';
// Imported after the env it reads at module load.
const { handler } =
  require('../../functions/handlers/authorizer') as typeof import('../../functions/handlers/authorizer');

const actor: Actor = { principal: 'arn:aws:iam::123456789012:user/tester', source_ip: '203.0.113.1' };
const base = { organization_id: 'acme', key_type: 'workspace' as const, environment: 'development' as const };

async function newKey(extra: Record<string, unknown> = {}) {
  return createKey({ name: 'test', scopes: ['agents:read'], ...base, ...extra } as never, actor);
}

async function expectUnauthorized(promise: Promise<unknown>) {
  await expect(promise).rejects.toThrow(/^Unauthorized$/);
}

function effectOf(result: Awaited<ReturnType<typeof handler>>): string | undefined {
  return (result.policyDocument.Statement[0] as { Effect: string }).Effect;
}

beforeAll(async () => {
  await useFreshTables();
});

describe('authorizer', () => {
  it('allows a valid key with a policy over exactly the routes its scopes grant', async () => {
    const { key, record } = await newKey({ scopes: ['agents:read', 'metrics:read'] });
    const result = await handler(authorizerEvent('GET', '/demo/agents', { token: key }));
    expect(result.principalId).toBe(record.id);
    expect(effectOf(result)).toBe('Allow');
    const resources = (result.policyDocument.Statement[0] as { Resource: string[] }).Resource;
    expect(resources.sort()).toEqual([
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/demo/agents',
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/demo/metrics',
    ]);
    expect(result.context).toEqual({
      keyId: record.id,
      organizationId: 'acme',
      workspaceId: 'default',
      environment: 'development',
      keyType: 'workspace',
      scopes: 'agents:read,metrics:read',
    });
  });

  it('accepts the X-API-Key header too', async () => {
    const { key } = await newKey();
    const result = await handler(authorizerEvent('GET', '/demo/agents', { token: key, header: 'x-api-key' }));
    expect(effectOf(result)).toBe('Allow');
  });

  it('takes the token from Authorization whenever that header is present, and it must be Bearer', async () => {
    const { key } = await newKey();
    const event = authorizerEvent('GET', '/demo/agents', { token: key, header: 'x-api-key' });
    event.headers = { ...event.headers, Authorization: 'Basic dXNlcjpwYXNz' };
    await expectUnauthorized(handler(event));
    event.headers = { ...event.headers, Authorization: `Bearer ${key}` };
    expect(effectOf(await handler(event))).toBe('Allow');
  });

  it('reads only the header the stage names (the one its cache is keyed on)', async () => {
    const { key } = await newKey();
    const withStage = (header: 'authorization' | 'x-api-key', tokenHeader: string) => ({
      ...authorizerEvent('GET', '/demo/agents', { token: key, header }),
      stageVariables: { latchkeyTokenHeader: tokenHeader },
    });
    expect(effectOf(await handler(withStage('x-api-key', 'x-api-key')))).toBe('Allow');
    expect(effectOf(await handler(withStage('authorization', 'authorization')))).toBe('Allow');
    await expectUnauthorized(handler(withStage('authorization', 'x-api-key')));
    await expectUnauthorized(handler(withStage('x-api-key', 'authorization')));
    // A stage that names no header Latchkey knows admits nobody.
    await expectUnauthorized(handler(withStage('authorization', 'cookie')));
    // X-API-Key with a stray Authorization header: only X-API-Key counts.
    const both = withStage('x-api-key', 'x-api-key');
    both.headers = { ...both.headers, Authorization: 'Basic dXNlcjpwYXNz' };
    expect(effectOf(await handler(both))).toBe('Allow');
  });

  it('lets admin imply execute, and grants parameterised routes with a wildcard', async () => {
    const { key } = await newKey({ scopes: ['agents:admin'] });
    const result = await handler(authorizerEvent('POST', '/demo/agents/{id}/execute', { token: key }));
    expect(effectOf(result)).toBe('Allow');
    const resources = (result.policyDocument.Statement[0] as { Resource: string[] }).Resource;
    expect(resources).toContain(
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/demo/agents/*/execute',
    );
    expect(resources).not.toContain(
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/demo/metrics',
    );
  });

  it('refuses a missing token with 401', async () => {
    await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents')));
  });

  it('refuses a malformed or mistyped token with 401, without reading the key', async () => {
    const { key } = await newKey();
    const send = jest.spyOn(dynamodb, 'send');
    try {
      await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: 'sk_dev_nonsense' })));
      const typo = key.slice(0, 20) + (key[20] === 'a' ? 'b' : 'a') + key.slice(21);
      await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: typo })));
      // Junk is counted in memory and summarised per source IP and minute; the key is never read.
      const reads = send.mock.calls.filter(([command]) => command.constructor.name === 'GetCommand');
      expect(reads).toHaveLength(0);
    } finally {
      send.mockRestore();
    }
  });

  it('refuses an unknown key id with 401', async () => {
    const { key } = await newKey();
    const parsed = parseToken(key);
    if (!parsed) throw new Error('bad token');
    const other = formatToken('development', 'ZZZZZZZZZZZZ', parsed.secret);
    await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: other })));
  });

  it('refuses a wrong secret with 401', async () => {
    const { key } = await newKey();
    const parsed = parseToken(key);
    if (!parsed) throw new Error('bad token');
    const forged = formatToken(
      'development',
      parsed.id,
      `${parsed.secret.slice(0, -1)}${parsed.secret.endsWith('A') ? 'B' : 'A'}`,
    );
    await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: forged })));
  });

  it('denies (403) a revoked key', async () => {
    const { key, record } = await newKey();
    await revokeKey(record.id, actor);
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Deny');
  });

  it('denies a disabled key, and allows it again once enabled', async () => {
    const { key, record } = await newKey();
    await changeKey(record.id, { enabled: false }, actor);
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Deny');
    await changeKey(record.id, { enabled: true }, actor);
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Allow');
  });

  it('denies an expired key', async () => {
    const past = new Date(Date.now() - 60_000);
    const { key } = await createKey(
      { name: 'old', scopes: ['agents:read'], ...base, expires_in_days: 1 } as never,
      actor,
      () => new Date(past.getTime() - 86_400_000),
    );
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: key })))).toBe('Deny');
  });

  it('denies a key of another environment than the API stage', async () => {
    const { key } = await newKey({ environment: 'production' });
    const result = await handler(authorizerEvent('GET', '/demo/agents', { token: key }));
    expect(effectOf(result)).toBe('Deny');
  });

  it('enforces the IP allowlist for IPv4 and IPv6', async () => {
    const { key } = await newKey({ ip_allowlist: ['203.0.113.0/24', '2001:db8::/32'] });
    const at = (ip: string) => handler(authorizerEvent('GET', '/demo/agents', { token: key, sourceIp: ip }));
    expect(effectOf(await at('203.0.113.9'))).toBe('Allow');
    expect(effectOf(await at('2001:db8:1::5'))).toBe('Allow');
    expect(effectOf(await at('::ffff:203.0.113.9'))).toBe('Allow');
    expect(effectOf(await at('198.51.100.1'))).toBe('Deny');
    expect(effectOf(await at('2001:db9::1'))).toBe('Deny');
  });

  it('denies a route whose scope the key lacks', async () => {
    const { key } = await newKey({ scopes: ['agents:read'] });
    const result = await handler(authorizerEvent('POST', '/demo/agents', { token: key }));
    expect(effectOf(result)).toBe('Deny');
    expect((result.policyDocument.Statement[0] as { Resource: string[] }).Resource).toEqual([
      'arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/demo/agents',
    ]);
  });

  it('accepts the previous secret inside its grace period, and not after', async () => {
    const { key: first, record } = await newKey();
    const start = Date.now();
    const { key: second } = await rotateKey(record.id, 3600, actor, () => new Date(start));
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: first })))).toBe('Allow');
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: second })))).toBe('Allow');
    // Rotate again, ending the open grace and with one already over: the first secret is gone for good.
    const { key: third } = await rotateKey(
      record.id,
      { grace_period_seconds: 1, end_previous_grace: true },
      actor,
      () => new Date(start - 10_000),
    );
    await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: second })));
    await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: first })));
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: third })))).toBe('Allow');
  });

  it('drops the previous secret at once when rotated without grace', async () => {
    const { key: first, record } = await newKey();
    const { key: second } = await rotateKey(record.id, 0, actor);
    await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: first })));
    expect(effectOf(await handler(authorizerEvent('GET', '/demo/agents', { token: second })))).toBe('Allow');
  });

  it('fails closed when the store cannot be read', async () => {
    const { key } = await newKey();
    const send = jest.spyOn(dynamodb, 'send').mockRejectedValue(new Error('network down') as never);
    try {
      await expectUnauthorized(handler(authorizerEvent('GET', '/demo/agents', { token: key })));
    } finally {
      send.mockRestore();
    }
  });

  it('stores no token or secret, only a SHA-256 hash', async () => {
    const { key, record } = await newKey();
    const parsed = parseToken(key);
    const raw = await dynamodb.send(
      new GetItemCommand({ TableName: process.env.KEYS_TABLE_NAME, Key: { id: { S: record.id } } }),
    );
    const text = JSON.stringify(raw.Item);
    expect(text).not.toContain(key);
    expect(text).not.toContain(parsed?.secret);
  });
});
