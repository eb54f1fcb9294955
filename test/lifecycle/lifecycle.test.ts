/**
 * Expiry alerts and scheduled rotation with an injected clock, against DynamoDB Local and the
 * local EventBridge / Secrets Manager endpoints.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Actor } from '../../functions/domain/api-key';
import { deriveAuditEntry } from '../../functions/domain/audit';
import { hashSecret } from '../../functions/domain/hashing';
import { parseToken } from '../../functions/domain/token';
import { getKey } from '../../functions/repositories/keys-repository';
import { rotationVersionId } from '../../functions/repositories/secret-destination';
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
  async function destination(name: string, initial = '{"seed":true}'): Promise<string> {
    const out = await sm.send(new CreateSecretCommand({ Name: `latchkey/${name}`, SecretString: initial }));
    if (!out.ARN) throw new Error('no ARN');
    return out.ARN;
  }
  const valueAt = async (arn: string, stage = 'AWSCURRENT') =>
    (await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: stage }))).SecretString ?? '';
  const tokenAt = async (arn: string, stage = 'AWSCURRENT') =>
    JSON.parse(await valueAt(arn, stage)).api_key as string;
  const stagesAt = async (arn: string) =>
    (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
  const authorize = async (token: string) => {
    const { handler } = await import('../../functions/handlers/authorizer');
    return handler(authorizerEvent('GET', '/demo/agents', { token })).then(
      (r) => (r.policyDocument.Statement[0] as { Effect: string }).Effect,
      () => 'Unauthorized',
    );
  };

  it('stages the token, rotates, then promotes it: AWSCURRENT is the new token, AWSPREVIOUS the old value', async () => {
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
    expect(await valueAt(arn, 'AWSPREVIOUS')).toBe('{"seed":true}');
    expect(JSON.parse(await valueAt(arn))).toEqual({
      key_id: k.record.id,
      key_prefix: k.record.key_prefix,
      api_key: delivered,
      rotated_at: due.toISOString(),
      previous_key_expires_at: new Date(due.getTime() + 3600_000).toISOString(),
    });
    // One version per rotation, named after it; nothing left pending.
    const stages = await stagesAt(arn);
    expect(Object.values(stages).flat().sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect(
      stages[rotationVersionId({ key_id: k.record.id, version: 2, rotated_at: due.toISOString() })],
    ).toEqual(['AWSCURRENT']);
    // Grace is measured from the (injected) rotation time, which is in the future here.
    expect(await authorize(delivered)).toBe('Allow');
    expect(await authorize(k.key)).toBe('Allow');
    // Not due again until the next period.
    expect((await rotateDueKeys(due)).rotated).not.toContain(k.record.id);
    const stored = await getKey(k.record.id);
    expect(stored?.rotation_due_at).toBe(new Date(due.getTime() + 30 * DAY).toISOString());
    expect(stored?.secret_hash).toBe(hashSecret(parseToken(delivered)?.secret ?? ''));

    // The next rotation: the first delivered token becomes AWSPREVIOUS, the original one is retired.
    const next = new Date(due.getTime() + 31 * DAY);
    expect((await rotateDueKeys(next)).rotated).toContain(k.record.id);
    const second = await tokenAt(arn);
    expect(second).not.toBe(delivered);
    expect(await tokenAt(arn, 'AWSPREVIOUS')).toBe(delivered);
    expect(await authorize(second)).toBe('Allow');
    expect(await authorize(delivered)).toBe('Allow');
    expect(await authorize(k.key)).not.toBe('Allow');
    // The token travels in no event.
    for (const token of [delivered, second]) {
      expect(JSON.stringify(stack.events())).not.toContain(parseToken(token)?.secret);
    }
  });

  it('gives one rotation when two rotators race on a key at the same instant', async () => {
    const t0 = new Date();
    const arn = await destination(`race-${Date.now()}`);
    const k = await make({ rotation: { every_days: 1, grace_period_seconds: 60, destination: arn } }, t0);
    const due = new Date(t0.getTime() + 2 * DAY);
    const [a, b] = await Promise.all([rotateDueKeys(due), rotateDueKeys(due)]);
    const rotated = [...a.rotated, ...b.rotated].filter((id) => id === k.record.id);
    expect(rotated).toHaveLength(1);
    // The loser either lost the conditional write (skipped) or queried after the winner had moved
    // the key's due date (never saw it); either way it is no failure.
    expect([...a.failed, ...b.failed].filter((f) => f.key_id === k.record.id)).toEqual([]);
    const stored = await getKey(k.record.id);
    expect(stored?.version).toBe(2);
    const delivered = parseToken(await tokenAt(arn));
    expect(stored?.secret_hash).toBe(hashSecret(delivered?.secret ?? ''));
    expect(await valueAt(arn, 'AWSPREVIOUS')).toBe('{"seed":true}');
  });

  it('gives one rotation when two rotators race at different instants; the loser leaves nothing pending', async () => {
    const t0 = new Date();
    const arn = await destination(`race2-${Date.now()}`);
    const k = await make({ rotation: { every_days: 1, grace_period_seconds: 60, destination: arn } }, t0);
    const due = new Date(t0.getTime() + 2 * DAY);
    const [a, b] = await Promise.all([rotateDueKeys(due), rotateDueKeys(new Date(due.getTime() + 1))]);
    expect([...a.rotated, ...b.rotated].filter((id) => id === k.record.id)).toHaveLength(1);
    const stored = await getKey(k.record.id);
    expect(stored?.version).toBe(2);
    const current = parseToken(await tokenAt(arn));
    expect(stored?.secret_hash).toBe(hashSecret(current?.secret ?? ''));
    expect(await authorize(await tokenAt(arn))).toBe('Allow');
    const labels = Object.values(await stagesAt(arn)).flat();
    expect(labels.sort()).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
  });

  it('rotates nothing when the destination cannot be written, and tries again a day later', async () => {
    const t0 = new Date();
    const missing = `arn:aws:secretsmanager:us-east-1:000000000000:secret:latchkey/does-not-exist-${Date.now()}-AbCdEf`;
    const foreign = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:latchkey/elsewhere-AbCdEf';
    const keys = [
      await make({ rotation: { every_days: 1, grace_period_seconds: 0, destination: missing } }, t0),
      await make({ rotation: { every_days: 1, grace_period_seconds: 0, destination: foreign } }, t0),
    ];
    const before = await Promise.all(keys.map((k) => getKey(k.record.id)));
    const due = new Date(t0.getTime() + 2 * DAY);
    const result = await rotateDueKeys(due);
    for (const [i, k] of keys.entries()) {
      expect(result.failed).toContainEqual({ key_id: k.record.id, reason: 'destination_unwritable' });
      expect(result.rotated).not.toContain(k.record.id);
      const after = await getKey(k.record.id);
      // No rotation happened: same secret, never rotated, no previous secret, same change stamp.
      expect(after?.secret_hash).toBe(before[i]?.secret_hash);
      expect(after?.rotated_at).toBeUndefined();
      expect(after?.previous_secret_hash).toBeUndefined();
      expect(after?.last_change).toEqual(before[i]?.last_change);
      expect(after?.updated_at).toBe(before[i]?.updated_at);
      // The one write is the back-off, which the audit consumer does not record.
      expect(after?.version).toBe(2);
      expect(after?.rotation_due_at).toBe(new Date(due.getTime() + DAY).toISOString());
      expect(
        deriveAuditEntry({
          eventId: 'e',
          eventName: 'MODIFY',
          oldImage: before[i] as never,
          newImage: after as never,
        }),
      ).toEqual({ skip: expect.any(String) });
      expect(await authorize(k.key)).toBe('Allow');
    }
    // Backed off: the next hourly run does not try again; a day later it does.
    const again = await rotateDueKeys(new Date(due.getTime() + 3600_000));
    expect(again.failed.map((f) => f.key_id)).not.toContain(keys[0]?.record.id);
    const dayLater = await rotateDueKeys(new Date(due.getTime() + DAY));
    expect(dayLater.failed).toContainEqual({ key_id: keys[0]?.record.id, reason: 'destination_unwritable' });
    expect((await getKey(keys[0]?.record.id ?? ''))?.secret_hash).toBe(before[0]?.secret_hash);
    const kinds = keys.flatMap((k) =>
      eventsFor(k.record.id).map((e) => (e as { 'detail-type': string })['detail-type']),
    );
    expect(kinds).not.toContain('ApiKeyRotated');
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
    expect(await valueAt(arn)).toBe('{"seed":true}');
  });
});
