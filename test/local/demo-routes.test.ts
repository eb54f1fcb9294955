/** The protected demo routes through the real authorizer on the local stack. */
import type { LocalStack } from '../../local/stack';
import { send, sendSigned, startTestStack } from '../support/local-stack';

let stack: LocalStack;
let key: string;

beforeAll(async () => {
  stack = await startTestStack();
  const admin = stack.credentials[0];
  if (!admin) throw new Error('no local principal');
  const created = await sendSigned(stack.url, {
    principal: admin,
    method: 'POST',
    path: '/v1/api-keys',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'slash', scopes: ['agents:read'] }),
  });
  expect(created.status).toBe(201);
  key = created.json<{ key: string }>().key;
});
afterAll(() => stack?.stop());

const getAgents = (path: string) => send(stack.url, { path, headers: { Authorization: `Bearer ${key}` } });

describe('a trailing slash on a protected route', () => {
  it('is the same route for the authorizer’s policy: a valid agents:read key gets 200', async () => {
    expect((await getAgents('/demo/agents')).status).toBe(200);
    const res = await getAgents('/demo/agents/');
    expect(res.status).toBe(200);
    expect(res.headers['x-amzn-errortype']).toBeUndefined();
  });

  it('does not widen the key: a route outside its scopes is still refused', async () => {
    expect(
      (await send(stack.url, { path: '/demo/metrics/', headers: { Authorization: `Bearer ${key}` } })).status,
    ).toBe(403);
  });
});
