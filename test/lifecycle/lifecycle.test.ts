/**
 * Expiry alerts and scheduled rotation with an injected clock, against DynamoDB Local and the
 * local EventBridge / Secrets Manager endpoints.
 */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Actor } from '../../functions/domain/api-key';
import { hashSecret } from '../../functions/domain/hashing';
import { parseToken } from '../../functions/domain/token';
import { getKey } from '../../functions/repositories/keys-repository';
import { changeKey, createKey, revokeKey } from '../../functions/services/api-keys';
import { rotateDueKeys, scanExpiries } from '../../functions/services/lifecycle';
import { routeScopeMap } from '../../lib/declaration';
import type { LocalStack } from '../../local/stack';
import { authorizerEvent } from '../support/events';
import { startTestStack } from '../support/local-stack';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
const DAY = 86_400_000;
const actor: Actor = { principal: 'arn:aws:iam::000000000000:user/tester' };
let stack: LocalStack;
let sm: SecretsManagerClient;

beforeAll(async () => {
  stack = await startTestStack();
  sm = new SecretsManagerClient({});
});
afterAll(async () => {
  sm?.destroy();
  await stack?.stop();
});

const base = {
  scopes: ['agents:read'],
  environment: 'development',
  organization_id: 'life',
  key_type: 'workspace',
};
const make = (extra: Record<string, unknown>, at: Date) =>
  createKey({ name: 'k', ...base, ...extra } as never, actor, () => at);
const eventsFor = (id: string) =>
  stack
    .events()
    .filter(
      (e) => (e as { detail?: { key_id?: string } }).detail?.key_id === id || JSON.stringify(e).includes(id),
    );

describe('expiry scanner', () => {
  it('announces the tightest threshold crossed once, then expiry once; reruns send nothing', async () => {
    const t0 = new Date();
    const k10 = await make({ expires_at: new Date(t0.getTime() + 10 * DAY).toISOString() }, t0);
    const k5 = await make({ expires_at: new Date(t0.getTime() + 5 * DAY).toISOString() }, t0);
    const k20 = await make({ expires_at: new Date(t0.getTime() + 20 * DAY).toISOString() }, t0);
    const first = await scanExpiries(t0, [14, 7, 1]);
    const mine = (r: typeof first) =>
      r.expiring.filter((e) => [k10, k5, k20].some((k) => k.record.id === e.key_id));
    expect(mine(first)).toEqual(
      expect.arrayContaining([
        { key_id: k10.record.id, threshold_days: 14 },
        { key_id: k5.record.id, threshold_days: 7 },
      ]),
    );
    expect(mine(first)).toHaveLength(2);
    expect(mine(await scanExpiries(t0, [14, 7, 1]))).toHaveLength(0);

    const t4 = new Date(t0.getTime() + 4.5 * DAY);
    const later = await scanExpiries(t4, [14, 7, 1]);
    expect(mine(later)).toEqual(
      expect.arrayContaining([
        { key_id: k10.record.id, threshold_days: 7 },
        { key_id: k5.record.id, threshold_days: 1 },
      ]),
    );
    const t6 = new Date(t0.getTime() + 6 * DAY);
    const expired = await scanExpiries(t6, [14, 7, 1]);
    expect(expired.expired).toContain(k5.record.id);
    expect((await scanExpiries(t6, [14, 7, 1])).expired).not.toContain(k5.record.id);

    const kinds = eventsFor(k5.record.id).map((e) => (e as { 'detail-type': string })['detail-type']);
    expect(kinds.filter((k) => k === 'ApiKeyExpiring')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'ApiKeyExpired')).toHaveLength(1);
  });

  it('sends each alert once when two scanners race', async () => {
    const t0 = new Date();
    const k = await make({ expires_at: new Date(t0.getTime() + 3 * DAY).toISOString() }, t0);
    const [a, b] = await Promise.all([scanExpiries(t0, [14, 7, 1]), scanExpiries(t0, [14, 7, 1])]);
    const hits = [...a.expiring, ...b.expiring].filter((e) => e.key_id === k.record.id);
    expect(hits).toEqual([{ key_id: k.record.id, threshold_days: 7 }]);
  });

  it('skips revoked keys and alerts again when an expiry is moved', async () => {
    const t0 = new Date();
    const revoked = await make({ expires_at: new Date(t0.getTime() + 2 * DAY).toISOString() }, t0);
    await revokeKey(revoked.record.id, actor);
    const moved = await make({ expires_at: new Date(t0.getTime() + 2 * DAY).toISOString() }, t0);
    const first = await scanExpiries(t0, [14, 7, 1]);
    expect(first.expiring.map((e) => e.key_id)).not.toContain(revoked.record.id);
    expect(first.expiring.map((e) => e.key_id)).toContain(moved.record.id);
    await changeKey(moved.record.id, { expires_at: new Date(t0.getTime() + 3 * DAY).toISOString() }, actor);
    const second = await scanExpiries(t0, [14, 7, 1]);
    expect(second.expiring).toContainEqual({ key_id: moved.record.id, threshold_days: 7 });
  });
});

describe('scheduled rotation', () => {
  async function destination(name: string): Promise<string> {
    const out = await sm.send(new CreateSecretCommand({ Name: `latchkey/${name}`, SecretString: '{}' }));
    if (!out.ARN) throw new Error('no ARN');
    return out.ARN;
  }
  const tokenAt = async (arn: string) =>
    JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString ?? '{}')
      .api_key as string;
  const authorize = async (token: string) => {
    const { handler } = await import('../../functions/handlers/authorizer');
    return handler(authorizerEvent('GET', '/demo/agents', { token })).then(
      (r) => (r.policyDocument.Statement[0] as { Effect: string }).Effect,
      () => 'Unauthorized',
    );
  };

  it('rotates due keys, delivers the token only to the destination, keeps the old one through grace', async () => {
    const t0 = new Date();
    const arn = await destination(`rot-${Date.now()}`);
    const k = await make({ rotation: { every_days: 30, grace_period_seconds: 3600, destination: arn } }, t0);
    expect((await rotateDueKeys(new Date(t0.getTime() + 29 * DAY))).rotated).not.toContain(k.record.id);
    const due = new Date(Date.now() + 31 * DAY);
    const result = await rotateDueKeys(due);
    expect(result.rotated).toContain(k.record.id);
    const delivered = await tokenAt(arn);
    expect(parseToken(delivered)?.id).toBe(k.record.id);
    expect(delivered).not.toBe(k.key);
    // Grace is measured from the (injected) rotation time, which is in the future here.
    expect(await authorize(delivered)).toBe('Allow');
    expect(await authorize(k.key)).toBe('Allow');
    // Not due again until the next period.
    expect((await rotateDueKeys(due)).rotated).not.toContain(k.record.id);
    const stored = await getKey(k.record.id);
    expect(stored?.rotation_due_at).toBe(new Date(due.getTime() + 30 * DAY).toISOString());
    // The token travels in no event.
    expect(JSON.stringify(stack.events())).not.toContain(parseToken(delivered)?.secret);
  });

  it('gives one rotation when two rotators race on a key', async () => {
    const t0 = new Date();
    const arn = await destination(`race-${Date.now()}`);
    const k = await make({ rotation: { every_days: 1, grace_period_seconds: 60, destination: arn } }, t0);
    const due = new Date(t0.getTime() + 2 * DAY);
    const [a, b] = await Promise.all([rotateDueKeys(due), rotateDueKeys(due)]);
    const rotated = [...a.rotated, ...b.rotated].filter((id) => id === k.record.id);
    expect(rotated).toHaveLength(1);
    const stored = await getKey(k.record.id);
    expect(stored?.version).toBe(2);
    const delivered = parseToken(await tokenAt(arn));
    expect(stored?.secret_hash).toBe(hashSecret(delivered?.secret ?? ''));
  });

  it('undoes a rotation it cannot deliver: the old token stays current, retried later', async () => {
    const t0 = new Date();
    const missing = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:latchkey/does-not-exist-AbCdEf';
    const k = await make({ rotation: { every_days: 1, grace_period_seconds: 0, destination: missing } }, t0);
    const due = new Date(t0.getTime() + 2 * DAY);
    const result = await rotateDueKeys(due);
    expect(result.failed).toContainEqual({ key_id: k.record.id, reason: 'delivery_failed' });
    expect(await authorize(k.key)).toBe('Allow');
    const stored = await getKey(k.record.id);
    expect(stored?.rotation_due_at).toBe(new Date(due.getTime() + 3600_000).toISOString());
  });

  it('does not rotate disabled or revoked keys', async () => {
    const t0 = new Date();
    const arn = await destination(`off-${Date.now()}`);
    const policy = { rotation: { every_days: 1, grace_period_seconds: 0, destination: arn } };
    const disabled = await make(policy, t0);
    await changeKey(disabled.record.id, { enabled: false }, actor);
    const revoked = await make(policy, t0);
    await revokeKey(revoked.record.id, actor);
    const result = await rotateDueKeys(new Date(t0.getTime() + 2 * DAY));
    expect(result.rotated).not.toContain(disabled.record.id);
    expect(result.rotated).not.toContain(revoked.record.id);
  });
});
