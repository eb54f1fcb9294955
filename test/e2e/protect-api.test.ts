/**
 * A product team's API protected by Latchkey, through the local stack (docs/protecting-apis.md):
 * the example's registration (`examples/consumer/registration.json`, two scopes of its own) is
 * registered with a signed PUT, a key gets one of its scopes, and the API's routes, served by the
 * local gateway under `/apis/orders/...` with the shared authorizer in front, answer 200 or 403
 * with either header style, with the deployed gateway responses' bodies. A scope nobody defines is
 * refused at key creation. Then a Lambda handler behind any front door requires a key with the
 * published client and middleware, which ask the same stack's `POST /v1/keys/verify`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { dynamodb } from '../../functions/shared/clients';
import { LOCAL_ACCOUNT_ID, type LocalPrincipal } from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { LatchkeyClient } from '../../sdk/client';
import { type LatchkeyContext, requireKey } from '../../sdk/middleware';
import { send, signedJson, startTestStack } from '../support/local-stack';

const registration = JSON.parse(
  readFileSync(join(__dirname, '../../examples/consumer/registration.json'), 'utf8'),
) as Record<string, unknown>;

let stack: LocalStack;
let admin: LocalPrincipal;
let readKey: string;

const signed = (method: string, path: string, body?: unknown) =>
  signedJson(stack.url, admin, method, path, body);

const callApi = (method: string, path: string, key?: string, header: 'bearer' | 'x-api-key' = 'bearer') =>
  send(stack.url, {
    method,
    path: `/apis/orders${path}`,
    headers: key ? (header === 'bearer' ? { authorization: `Bearer ${key}` } : { 'x-api-key': key }) : {},
  });

beforeAll(async () => {
  stack = await startTestStack();
  const first = stack.credentials[0];
  if (!first) throw new Error('no local principal');
  admin = first;
  // The example's registration, for the local stack's account instead of the example's.
  const put = await signed('PUT', '/v1/apis/orders', { ...registration, accounts: [LOCAL_ACCOUNT_ID] });
  expect(put.status).toBe(201);
  const created = await signed('POST', '/v1/api-keys', {
    name: 'orders reader',
    scopes: ['orders:read'],
    environment: 'production',
    organization_id: 'acme',
  });
  expect(created.status).toBe(201);
  readKey = created.body.key as string;
});
afterAll(async () => {
  await stack?.stop();
});

describe('a registered API through the local gateway', () => {
  it.each(['bearer', 'x-api-key'] as const)('allows the key’s scope on its routes (%s)', async (header) => {
    const list = await callApi('GET', '/orders', readKey, header);
    expect(list.status).toBe(200);
    expect(list.json()).toMatchObject({
      route: 'GET /orders',
      scopes: ['orders:read'],
      organization_id: 'acme',
    });
    const one = await callApi('GET', '/orders/42', readKey, header);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ route: 'GET /orders/{id}', environment: 'production' });
  });

  it.each(['bearer', 'x-api-key'] as const)(
    'refuses the other scope’s route with 403 (%s)',
    async (header) => {
      const res = await callApi('POST', '/orders', readKey, header);
      expect(res.status).toBe(403);
      // The deployed gateway response's body: no reason for a refusal waiting does not fix.
      expect(res.json()).toEqual({
        error: { code: 'forbidden', message: 'Forbidden', reason: '', retry_after: '' },
      });
      expect(res.headers['retry-after']).toBeUndefined();
    },
  );

  it('refuses a call without a key with 401, in the deployed body', async () => {
    const res = await callApi('GET', '/orders');
    expect(res.status).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'unauthorized', message: 'Unauthorized' } });
  });

  it('answers a route the registration does not have as API Gateway would (403, or 404 for no path)', async () => {
    expect((await callApi('DELETE', '/orders', readKey)).status).toBe(403);
    expect((await callApi('GET', '/refunds', readKey)).status).toBe(404);
    expect((await send(stack.url, { path: '/apis/unregistered/orders' })).status).toBe(404);
  });

  it('refuses at key creation, with 400 naming it, a scope that no API defines', async () => {
    for (const scope of ['orders:admin', 'refunds:read']) {
      const res = await signed('POST', '/v1/api-keys', { name: 'x', scopes: ['orders:read', scope] });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        details: [{ field: 'scopes.1', message: `unknown scope "${scope}"` }],
      });
    }
  });

  it('applies a change of the route map at once locally', async () => {
    const changed = await signed('PUT', '/v1/apis/orders', {
      ...registration,
      accounts: [LOCAL_ACCOUNT_ID],
      routes: { ...(registration.routes as object), 'POST /orders': 'orders:read' },
    });
    expect(changed.status).toBe(200);
    expect((await callApi('POST', '/orders', readKey)).status).toBe(200);
    await signed('PUT', '/v1/apis/orders', { ...registration, accounts: [LOCAL_ACCOUNT_ID] });
    expect((await callApi('POST', '/orders', readKey)).status).toBe(403);
  });
});

describe('a handler behind any front door, with latchkey/client and latchkey/middleware', () => {
  const client = () =>
    new LatchkeyClient({
      baseUrl: stack.url,
      region: stack.region,
      credentials: { accessKeyId: admin.access_key_id, secretAccessKey: admin.secret_access_key },
    });
  const context = { functionName: 'orders' } as Context;
  /** A function URL's event (payload 2.0), from 198.51.100.7. */
  const event = (headers: Record<string, string>) => ({
    headers,
    requestContext: { http: { sourceIp: '198.51.100.7' } },
  });
  const handler = (latchkey: LatchkeyClient, scope: string) =>
    middy(async (_event: unknown, ctx: Context) => ({
      statusCode: 200,
      body: JSON.stringify({ caller: (ctx as LatchkeyContext).latchkey.keyId }),
    })).use(requireKey({ client: latchkey, api: 'orders', scope }));

  it('lets a key with the scope through, and tells the handler who called', async () => {
    const res = (await handler(client(), 'orders:read')(
      event({ authorization: `Bearer ${readKey}` }),
      context,
    )) as {
      statusCode: number;
      body: string;
    };
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body).caller).toBe(readKey.split('_')[2]);
  });

  it('refuses a call without a key (401) and a key without the scope (403), in the gateway’s bodies', async () => {
    const missing = await handler(client(), 'orders:read')(event({}), context);
    expect(missing).toMatchObject({
      statusCode: 401,
      body: '{"error":{"code":"unauthorized","message":"Unauthorized"}}',
    });
    const codes: string[] = [];
    const strict = middy(async () => ({ statusCode: 200, body: 'never' })).use(
      requireKey({
        client: client(),
        api: 'orders',
        scope: 'orders:write',
        onRefusal: (code) => codes.push(code),
      }),
    );
    const wrong = await strict(event({ 'x-api-key': readKey }), context);
    expect(wrong).toMatchObject({
      statusCode: 403,
      body: '{"error":{"code":"forbidden","message":"Forbidden","reason":"","retry_after":""}}',
    });
    expect(codes).toEqual(['scope_missing']);
  });

  it('tells a rate-limited caller how long to wait, as the gateway response does (403, Retry-After)', async () => {
    const limited = await signed('POST', '/v1/api-keys', {
      name: 'limited',
      scopes: ['orders:read'],
      environment: 'production',
      rate_limit: 1,
      rate_limit_window_seconds: 3600,
    });
    const call = () =>
      handler(client(), 'orders:read')(
        event({ authorization: `Bearer ${limited.body.key}` }),
        context,
      ) as Promise<{
        statusCode: number;
        headers?: Record<string, string>;
        body: string;
      }>;
    expect((await call()).statusCode).toBe(200);
    const res = await call();
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'forbidden', reason: 'rate_limited' });
    expect(Number(res.headers?.['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses (401) when the key store is down, and when Latchkey cannot be reached', async () => {
    const send = jest.spyOn(dynamodb, 'send').mockRejectedValue(new Error('network down') as never);
    try {
      const res = await handler(client(), 'orders:read')(
        event({ authorization: `Bearer ${readKey}` }),
        context,
      );
      expect(res).toMatchObject({ statusCode: 401 });
    } finally {
      send.mockRestore();
    }
    const unreachable = new LatchkeyClient({
      baseUrl: 'http://127.0.0.1:9/',
      region: stack.region,
      credentials: { accessKeyId: admin.access_key_id, secretAccessKey: admin.secret_access_key },
      timeoutMs: 2000,
    });
    const res = await handler(unreachable, 'orders:read')(
      event({ authorization: `Bearer ${readKey}` }),
      context,
    );
    expect(res).toMatchObject({ statusCode: 401 });
  });
});
