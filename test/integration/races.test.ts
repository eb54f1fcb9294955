/**
 * Concurrent changes to one key (docs/key-changes.md), through the real handlers against DynamoDB
 * Local, with every token checked through the real authorizer: revoke always wins, and a rotation
 * never answers 200 with a token that does not work nor cuts a grace period it promised.
 */
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Actor } from '../../functions/domain/api-key';
import { getKey } from '../../functions/repositories/keys-repository';
import { createKey, rotateKey } from '../../functions/services/api-keys';
import { rotateDueKeys } from '../../functions/services/lifecycle';
import type { LocalStack } from '../../local/stack';
import { startTestStack } from '../support/local-stack';
import { type Answer, call, tokenWorks } from '../support/management';

const DAY = 86_400_000;
const ROUNDS = 4;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const create = async (extra: Record<string, unknown> = {}) => {
  const res = await call('POST', '/v1/api-keys', {
    body: { name: 'race', scopes: ['agents:read'], ...extra },
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; key: string };
};
const rotate = (id: string, body?: unknown) =>
  call('POST', '/v1/api-keys/{id}/rotate', { params: { id }, ...(body === undefined ? {} : { body }) });
const revoke = (id: string) => call('DELETE', '/v1/api-keys/{id}', { params: { id } });
const patch = (id: string, body: unknown) => call('PATCH', '/v1/api-keys/{id}', { params: { id }, body });

/** Resolves once `condition()` holds (checked after every change a loop makes). */
function until(condition: () => boolean): { promise: Promise<void>; check: () => void } {
  let done!: () => void;
  const promise = new Promise<void>((ok) => {
    done = ok;
  });
  const check = () => {
    if (condition()) done();
  };
  return { promise, check };
}

describe('revoke always wins', () => {
  it('answers 200 while 8 loops rotate the key as fast as they can, and afterwards no token works', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const created = await create();
      const tokens = [created.key];
      const statuses: number[] = [];
      let stop = false;
      const enough = until(() => tokens.length >= 4);
      const loops = Array.from({ length: 8 }, async (_, loop) => {
        for (let i = 0; !stop; i++) {
          // Alternate the two rotations that never wait for a grace period to end.
          const body =
            (loop + i) % 2
              ? { grace_period_seconds: 0 }
              : { grace_period_seconds: 600, end_previous_grace: true };
          const res: Answer = await rotate(created.id, body);
          statuses.push(res.status);
          if (res.status === 200) tokens.push(res.body.key);
          enough.check();
        }
      });
      // Revoke in the middle of the storm, once a few rotations have landed.
      await enough.promise;
      const revoked = await revoke(created.id);
      stop = true;
      await Promise.all(loops);

      expect(revoked.status).toBe(200);
      expect(revoked.body.status).toBe('revoked');
      expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
      const stored = await getKey(created.id);
      expect(stored?.status).toBe('revoked');
      expect(stored?.previous_secret_hash).toBeUndefined();
      for (const token of tokens) expect(await tokenWorks(token)).toBe(false);
      // And nothing brings it back.
      expect((await rotate(created.id, { grace_period_seconds: 0 })).status).toBe(409);
      expect((await patch(created.id, { enabled: true })).status).toBe(409);
    }
  });

  it('answers 200 while PATCHes race it (they may get 409, the revoke never does)', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const created = await create();
      const statuses: number[] = [];
      let stop = false;
      let patched = 0;
      const enough = until(() => patched >= 4);
      const loops = Array.from({ length: 8 }, async (_, loop) => {
        for (let i = 0; !stop; i++) {
          const res = await patch(created.id, { name: `n${loop}-${i}`, rate_limit: i + 1 });
          statuses.push(res.status);
          if (res.status === 200) patched++;
          enough.check();
        }
      });
      await enough.promise;
      const revoked = await revoke(created.id);
      stop = true;
      await Promise.all(loops);
      expect(revoked.status).toBe(200);
      expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
      expect((await getKey(created.id))?.status).toBe('revoked');
      expect(await tokenWorks(created.key)).toBe(false);
    }
  });

  it('repeats as a no-op: the same record, nothing written', async () => {
    const created = await create();
    const first = await revoke(created.id);
    const before = await getKey(created.id);
    const second = await revoke(created.id);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await getKey(created.id)).toEqual(before);
  });
});

describe('rotation', () => {
  const rotationStorms: [string, number, number][] = [
    ['50 at once', 50, 1],
    ['50 from 10 clients, each sending its next as soon as the last one answered', 10, 5],
  ];
  it.each(rotationStorms)(
    'with a grace period, %s: every 200 hands out a working token, and the original keeps working',
    async (_how, clients, each) => {
      const created = await create();
      const answers: Answer[] = [];
      await Promise.all(
        Array.from({ length: clients }, async () => {
          for (let i = 0; i < each; i++)
            answers.push(await rotate(created.id, { grace_period_seconds: 3600 }));
        }),
      );
      const won = answers.filter((a) => a.status === 200);
      expect(won.length).toBeGreaterThanOrEqual(1);
      for (const a of answers.filter((x) => x.status !== 200)) {
        expect(a.status).toBe(409);
        expect(['conflict', 'grace_period_open']).toContain(a.body.error.code);
      }
      for (const a of won) expect(await tokenWorks(a.body.key)).toBe(true);
      expect(await tokenWorks(created.key)).toBe(true);
    },
  );

  it('refuses to rotate while a grace period is open, unless asked to end it', async () => {
    const created = await create();
    const first = await rotate(created.id, { grace_period_seconds: 3600 });
    expect(first.status).toBe(200);
    const before = await getKey(created.id);

    const refused = await rotate(created.id, { grace_period_seconds: 60 });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('grace_period_open');
    expect(refused.body.error.message).toContain(first.body.previous_key_expires_at);
    expect(refused.body.error.message).toContain('end_previous_grace');
    expect(await getKey(created.id)).toEqual(before);
    // A rotation without grace would end the open one too: refused the same way.
    expect((await rotate(created.id)).body.error?.code).toBe('grace_period_open');

    const forced = await rotate(created.id, { grace_period_seconds: 60, end_previous_grace: true });
    expect(forced.status).toBe(200);
    // The explicitly ended grace is over at once; the token it replaced gets the new grace.
    expect(await tokenWorks(created.key)).toBe(false);
    expect(await tokenWorks(first.body.key)).toBe(true);
    expect(await tokenWorks(forced.body.key)).toBe(true);
  });

  it('lets a rotation through once the grace period is over', async () => {
    const created = await create();
    const t0 = Date.now();
    const actor: Actor = { principal: 'arn:aws:iam::123456789012:user/tester' };
    // A rotation an hour ago with a 60 s grace: closed now.
    await rotateKey(created.id, { grace_period_seconds: 60 }, actor, () => new Date(t0 - 3600_000));
    const res = await rotate(created.id, { grace_period_seconds: 60 });
    expect(res.status).toBe(200);
    expect(await tokenWorks(res.body.key)).toBe(true);
  });
});

describe('scheduled rotation and an open grace period', () => {
  it('skips a due key whose grace is still open, and rotates it on a later run', async () => {
    const sm = new SecretsManagerClient({});
    try {
      const arn =
        (await sm.send(new CreateSecretCommand({ Name: `latchkey/grace-${Date.now()}`, SecretString: '{}' })))
          .ARN ?? '';
      const actor: Actor = { principal: 'arn:aws:iam::123456789012:user/tester' };
      const t0 = new Date();
      const k = await createKey(
        {
          name: 'scheduled',
          scopes: ['agents:read'],
          environment: 'development',
          organization_id: 'acme',
          key_type: 'workspace',
          rotation: { every_days: 1, grace_period_seconds: 3600, destination: arn },
        },
        actor,
        () => t0,
      );
      // An admin rotates with a 3-day grace: the next scheduled rotation falls due inside it.
      const manual = await rotateKey(k.record.id, { grace_period_seconds: 3 * 86_400 }, actor, () => t0);
      const due = new Date(t0.getTime() + DAY + 60_000);
      const before = await getKey(k.record.id);

      const skipped = await rotateDueKeys(due);
      expect(skipped.rotated).not.toContain(k.record.id);
      expect(skipped.skipped).toContainEqual({ key_id: k.record.id, reason: 'grace_period_open' });
      expect(skipped.failed.map((f) => f.key_id)).not.toContain(k.record.id);
      expect(await getKey(k.record.id)).toEqual(before);
      expect((await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString).toBe('{}');
      // The promised grace stands (measured from the injected clock, here in the past).
      expect(await tokenWorks(k.key)).toBe(true);
      expect(await tokenWorks(manual.key)).toBe(true);

      const later = await rotateDueKeys(new Date(t0.getTime() + 3 * DAY + 60_000));
      expect(later.rotated).toContain(k.record.id);
    } finally {
      sm.destroy();
    }
  });
});
