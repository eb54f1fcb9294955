/**
 * Root mode's time box (docs/tenancy.md#root-mode) with an injected clock: an elevation closes by
 * itself after its minutes, a system key can be created only inside it, and every step is audited
 * (the end of the time box once, when next seen). Handlers are called as API Gateway would, after
 * the MFA check the route's resource policy makes (test/e2e/tenancy.test.ts covers that part).
 */

import { queryAudit } from '../../functions/repositories/audit-repository';
import type { LocalStack } from '../../local/stack';
import { fakeDateOnly } from '../support/clock';
import { startTestStack } from '../support/local-stack';
import { call, snapshot } from '../support/management';

let stack: LocalStack;
const T0 = Date.parse('2030-06-01T09:00:00Z');
const minutes = (n: number) => T0 + n * 60_000;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  jest.useRealTimers();
  await stack?.stop();
});

const systemKey = { name: 'billing', scopes: ['system:read'], key_type: 'system', organization_id: 'acme' };
const createSystemKey = () => call('POST', '/v1/api-keys', { body: systemKey });

async function platformFeed(): Promise<{ event_name: string; timestamp: string }[]> {
  const page = await queryAudit({ organization_id: 'platform' }, 100);
  return page.items.filter((e) => e.event_name.startsWith('root_mode.'));
}

it('opens for at most 15 minutes, unlocks system keys inside, and closes by itself after', async () => {
  fakeDateOnly(minutes(0));
  const tables = [stack.tables.KEYS_TABLE_NAME as string, stack.tables.ADMIN_TABLE_NAME as string];
  // Outside root mode: refused, nothing written, the refusal audited.
  let before = await snapshot(tables);
  const refused = await createSystemKey();
  expect([refused.status, refused.body.error.code]).toEqual([403, 'root_mode_required']);
  expect(await snapshot(tables)).toBe(before);

  expect((await call('POST', '/v1/root-mode', { body: { reason: 'x', duration_minutes: 16 } })).status).toBe(
    400,
  );
  const opened = await call('POST', '/v1/root-mode', { body: { reason: 'quarterly system key rotation' } });
  expect(opened.status).toBe(201);
  expect(opened.body).toMatchObject({
    open: true,
    opened_at: new Date(minutes(0)).toISOString(),
    expires_at: new Date(minutes(15)).toISOString(),
    remaining_seconds: 900,
  });

  fakeDateOnly(minutes(14) + 59_000);
  expect((await call('GET', '/v1/root-mode')).body).toMatchObject({ open: true, remaining_seconds: 1 });
  expect((await createSystemKey()).status).toBe(201);

  fakeDateOnly(minutes(15));
  before = await snapshot([stack.tables.KEYS_TABLE_NAME as string]);
  const late = await createSystemKey();
  expect([late.status, late.body.error.code]).toEqual([403, 'root_mode_required']);
  expect(await snapshot([stack.tables.KEYS_TABLE_NAME as string])).toBe(before);
  const state = await call('GET', '/v1/root-mode');
  expect(state.body).toMatchObject({
    open: false,
    closed_reason: 'expired',
    closed_at: new Date(minutes(15)).toISOString(),
    remaining_seconds: 0,
  });
  // Seen again: the end is recorded once.
  fakeDateOnly(minutes(20));
  await call('GET', '/v1/root-mode');
  // Closing a closed elevation changes nothing.
  expect((await call('DELETE', '/v1/root-mode')).body).toMatchObject({
    open: false,
    closed_reason: 'expired',
  });

  const names = (await platformFeed()).map((e) => `${e.event_name}@${e.timestamp}`);
  expect(names.sort()).toEqual(
    [
      `root_mode.opened@${new Date(minutes(0)).toISOString()}`,
      `root_mode.expired@${new Date(minutes(15)).toISOString()}`,
    ].sort(),
  );
  // The refusals are in the organization's feed, as root_mode.required_for_api_key.
  const acme = await queryAudit(
    { organization_id: 'acme', event_name: 'root_mode.required_for_api_key' },
    100,
  );
  expect(acme.items.map((e) => e.timestamp).sort()).toEqual(
    [new Date(minutes(0)).toISOString(), new Date(minutes(15)).toISOString()].sort(),
  );

  // A new elevation can open once the last one has ended.
  fakeDateOnly(minutes(21));
  expect(
    (await call('POST', '/v1/root-mode', { body: { reason: 'again', duration_minutes: 1 } })).status,
  ).toBe(201);
  const closed = await call('DELETE', '/v1/root-mode');
  expect(closed.body).toMatchObject({
    open: false,
    closed_reason: 'closed',
    closed_at: new Date(minutes(21)).toISOString(),
  });
});
