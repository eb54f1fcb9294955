/**
 * Traffic controls through the local gateway, answering as the AWS stack's gateway responses do
 * (`lib/gateway-responses.ts`): a key over its rate limit gets a 403 that says `rate_limited` with a
 * `Retry-After`, any other 403 says nothing more, junk gets the 401 body, and the usage route counts
 * the current window as it happens.
 */
import type { LocalPrincipal } from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { send, signedJson, startTestStack } from '../support/local-stack';

let stack: LocalStack;
let admin: LocalPrincipal;

beforeAll(async () => {
  stack = await startTestStack();
  const first = stack.credentials[0];
  if (!first) throw new Error('no local principal');
  admin = first;
});
afterAll(async () => {
  await stack?.stop();
});

const manage = async (method: string, path: string, body?: unknown) =>
  (await signedJson(stack.url, admin, method, path, body)).body;

const demo = (token: string | undefined, method = 'GET') =>
  send(stack.url, {
    method,
    path: '/demo/agents',
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });

it('answers over the limit with 403 rate_limited and Retry-After, and counts the window as it happens', async () => {
  // An hour-long window: the three requests cannot straddle two windows.
  const created = await manage('POST', '/v1/api-keys', {
    name: 'two an hour',
    scopes: ['agents:read'],
    rate_limit: 2,
    rate_limit_window_seconds: 3600,
  });
  const key = created.key as string;
  expect((await demo(key)).status).toBe(200);
  expect((await demo(key)).status).toBe(200);
  const over = await demo(key);
  expect(over.status).toBe(403);
  const retryAfter = Number(over.headers['retry-after']);
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(3600);
  expect(over.json()).toEqual({
    error: {
      code: 'forbidden',
      message: 'Forbidden',
      reason: 'rate_limited',
      retry_after: String(retryAfter),
    },
  });

  const usage = await manage('GET', `/v1/api-keys/${created.id}/usage`);
  expect(usage).toMatchObject({ request_count: 2, rate_limit: 2, remaining: 0, window_seconds: 3600 });
  expect(typeof usage.last_used_at).toBe('string');
  expect((await manage('GET', `/v1/api-keys/${created.id}`)).last_used_at).toBe(usage.last_used_at);
});

it('says nothing more on any other 403, and answers junk with the 401 body', async () => {
  const { key } = await manage('POST', '/v1/api-keys', { name: 'reader', scopes: ['agents:read'] });
  const forbidden = await demo(key as string, 'POST');
  expect(forbidden.status).toBe(403);
  expect(forbidden.headers['retry-after']).toBeUndefined();
  expect(forbidden.json()).toEqual({
    error: { code: 'forbidden', message: 'Forbidden', reason: '', retry_after: '' },
  });
  const junk = await demo('sk_dev_nonsense');
  expect(junk.status).toBe(401);
  expect(junk.json()).toEqual({ error: { code: 'unauthorized', message: 'Unauthorized' } });
});
