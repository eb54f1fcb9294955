/**
 * The audit trail end to end on the local stack: changes made through the signed management API
 * reach the audit table through DynamoDB Local's stream and the poller, exactly once each, and the
 * committed ones put exactly one domain event each on the local bus. (How fast entries show up is
 * measured by `npm run bench`, not asserted here.)
 */
import type { LocalPrincipal } from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { localWorkers } from '../../local/workers';
import { signedJson, startTestStack } from '../support/local-stack';

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

const call = (method: string, path: string, body?: unknown) =>
  signedJson(stack.url, admin, method, path, body);

async function auditNames(id: string): Promise<string[]> {
  const res = await call('GET', `/v1/api-keys/${id}/audit`);
  return (res.body.items as { event_name: string }[]).map((e) => e.event_name);
}

async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 15_000;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = await probe();
  }
  return value;
}

it('turns N changes into exactly N audit entries, newest first, and one event per committed change', async () => {
  const created = await call('POST', '/v1/api-keys', { name: 'trail', scopes: ['agents:read'] });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const changes: [string, string, unknown?][] = [
    ['PATCH', `/v1/api-keys/${id}`, { name: 'trail 2' }],
    ['PATCH', `/v1/api-keys/${id}`, { scopes: ['agents:read', 'metrics:read'] }],
    ['PATCH', `/v1/api-keys/${id}`, { enabled: false }],
    ['POST', `/v1/api-keys/${id}/rotate`, { grace_period_seconds: 60 }],
    ['DELETE', `/v1/api-keys/${id}`],
  ];
  for (const [method, path, body] of changes) expect((await call(method, path, body)).status).toBe(200);
  // Refused requests and repeated revokes change nothing, so they add no entry.
  expect((await call('PATCH', `/v1/api-keys/${id}`, { enabled: true })).status).toBe(409);
  expect((await call('DELETE', `/v1/api-keys/${id}`)).status).toBe(200);

  const expected = [
    'admin.api_key_deleted',
    'admin.api_key_rotated',
    'admin.api_key_updated',
    'admin.api_key_scope_changed',
    'admin.api_key_updated',
    'admin.api_key_created',
  ];
  const names = await eventually(
    () => auditNames(id),
    (n) => n.length >= expected.length,
  );
  expect(names).toEqual(expected);
  // Nothing is written twice: the poller delivers the shard in order, so once the entry of a later
  // change (to another key) is in, every delivery of the records above, a repeated one included,
  // has been made. Waiting on that, not on a clock, is what lets this assert "exactly".
  const marker = await call('POST', '/v1/api-keys', { name: 'marker', scopes: ['agents:read'] });
  expect(marker.status).toBe(201);
  const markerNames = await eventually(
    () => auditNames(marker.body.id as string),
    (n) => n.length > 0,
  );
  expect(markerNames).toEqual(['admin.api_key_created']);
  expect(await auditNames(id)).toEqual(expected);

  const entries = (await call('GET', `/v1/api-keys/${id}/audit`)).body.items as Record<string, unknown>[];
  expect(entries[0]).toMatchObject({ actor: admin.arn, key_id: id, organization_id: 'default' });
  expect(entries.find((e) => e.event_name === 'admin.api_key_scope_changed')).toMatchObject({
    changes: { scopes: { before: ['agents:read'], after: ['agents:read', 'metrics:read'] } },
  });

  const events = await eventually(
    async () =>
      stack
        .events()
        .filter((e) => JSON.stringify(e).includes(id))
        .map((e) => (e as { 'detail-type'?: string })['detail-type']),
    (kinds) => kinds.length >= 3,
  );
  expect(events).toEqual(['ApiKeyCreated', 'ApiKeyRotated', 'ApiKeyRevoked']);
});
