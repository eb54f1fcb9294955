/**
 * The authorizer's metrics (docs/operations.md), read from the EMF lines it writes, against DynamoDB
 * Local: one line per invocation that read the store, naming its outcome (allowed, refused with
 * every reason of the fixed set, store error) and its latency; refusals decided without a read are
 * counted and written once per reason and minute. No dimension or value names the caller.
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { REFUSAL_REASONS, type RefusalReason } from '../../functions/domain/authorization';
import { formatToken, parseToken } from '../../functions/domain/token';
import { changeKey, revokeKey, rotateKey } from '../../functions/services/api-keys';
import { COUNTED_REFUSALS } from '../../functions/shared/authorizer-metrics';
import { dynamodb } from '../../functions/shared/clients';
import { routeScopeMap } from '../../lib/declaration';
import { AUTHORIZER_METRICS, METRICS_NAMESPACE } from '../../lib/metric-catalog';
import { fakeDateOnly } from '../support/clock';
import { captureEmf, type EmfLine, readEmf } from '../support/emf';
import { authorizerEvent } from '../support/events';
import { newTestKey, TEST_ACTOR } from '../support/keys';
import { useFreshTables } from '../support/tables';

process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
process.env.LATCHKEY_API_ENVIRONMENT = 'development';
// Metrics are off for Jest (test/support/global-setup.ts); this file reads them. Both are read
// when the handler's modules load, so it is required after.
process.env.POWERTOOLS_METRICS_DISABLED = 'false';
const { handler } =
  require('../../functions/handlers/authorizer') as typeof import('../../functions/handlers/authorizer');

const M = AUTHORIZER_METRICS;
const agents = (token?: string, extra: Parameters<typeof authorizerEvent>[2] = {}) =>
  authorizerEvent('GET', '/demo/agents', { ...(token === undefined ? {} : { token }), ...extra });

/** Strings that must never appear in a metric line: the token, its secret, key id and prefix. */
const secretsOf = (token: string): string[] => {
  const parsed = parseToken(token);
  return parsed ? [token, parsed.secret, parsed.id, parsed.prefix] : [token];
};

/** Invokes the handler once and returns its only EMF line (and the handler's outcome). */
async function invoke(event: APIGatewayRequestAuthorizerEvent) {
  const { lines, outcome } = await captureEmf(() => handler(event));
  expect(lines).toHaveLength(1);
  return { line: lines[0] as EmfLine, outcome };
}

function expectLatency(line: EmfLine) {
  const { metrics } = readEmf(line);
  expect(metrics[M.decisionLatency.name]?.unit).toBe('Milliseconds');
  expect(metrics[M.decisionLatency.name]?.value).toEqual(expect.any(Number));
  expect(metrics[M.decisionLatency.name]?.value as number).toBeGreaterThanOrEqual(0);
}

/** How to make a request the authorizer refuses for `reason`; a new reason must add one. */
const refusals: Record<
  RefusalReason,
  () => Promise<{ event: APIGatewayRequestAuthorizerEvent; token?: string }>
> = {
  missing_token: async () => ({ event: agents() }),
  malformed_token: async () => ({ event: agents('sk_dev_nonsense'), token: 'sk_dev_nonsense' }),
  unknown_key: async () => {
    const parsed = parseToken((await newTestKey()).key);
    if (!parsed) throw new Error('bad token');
    const token = formatToken('development', 'ZZZZZZZZZZZZ', parsed.secret);
    return { event: agents(token), token };
  },
  wrong_secret: async () => {
    const parsed = parseToken((await newTestKey()).key);
    if (!parsed) throw new Error('bad token');
    const flipped = `${parsed.secret.slice(0, -1)}${parsed.secret.endsWith('A') ? 'B' : 'A'}`;
    const token = formatToken('development', parsed.id, flipped);
    return { event: agents(token), token };
  },
  grace_expired: async () => {
    const { record } = await newTestKey();
    const start = Date.now();
    const { key: previous } = await rotateKey(record.id, 3600, TEST_ACTOR, () => new Date(start));
    // Rotated again with a grace that is already over: `previous` is past its grace.
    await rotateKey(
      record.id,
      { grace_period_seconds: 1, end_previous_grace: true },
      TEST_ACTOR,
      () => new Date(start - 10_000),
    );
    return { event: agents(previous), token: previous };
  },
  disabled: async () => {
    const { key, record } = await newTestKey();
    await changeKey(record.id, { enabled: false }, TEST_ACTOR);
    return { event: agents(key), token: key };
  },
  revoked: async () => {
    const { key, record } = await newTestKey();
    await revokeKey(record.id, TEST_ACTOR);
    return { event: agents(key), token: key };
  },
  expired: async () => {
    const longAgo = Date.now() - 3 * 86_400_000;
    const { key } = await newTestKey('old', { expires_in_days: 1 }, TEST_ACTOR, () => new Date(longAgo));
    return { event: agents(key), token: key };
  },
  environment_mismatch: async () => {
    const { key } = await newTestKey('prod', { environment: 'production' });
    return { event: agents(key), token: key };
  },
  ip_not_allowed: async () => {
    const { key } = await newTestKey('ip', { ip_allowlist: ['203.0.113.0/24'] });
    return { event: agents(key, { sourceIp: '198.51.100.1' }), token: key };
  },
  scope_missing: async () => {
    const { key } = await newTestKey();
    return { event: authorizerEvent('POST', '/demo/agents', { token: key }), token: key };
  },
  route_unknown: async () => {
    const { key } = await newTestKey();
    return { event: authorizerEvent('GET', '/demo/unlisted', { token: key }), token: key };
  },
  api_unknown: async () => {
    const { key } = await newTestKey();
    return { event: { ...agents(key), stageVariables: { latchkeyApi: 'no-such-api' } }, token: key };
  },
  account_not_allowed: async () => {
    const { key } = await newTestKey();
    const event = agents(key);
    return {
      event: { ...event, requestContext: { ...event.requestContext, accountId: '999999999999' } },
      token: key,
    };
  },
};

beforeAll(async () => {
  await useFreshTables();
});

describe('authorizer metrics', () => {
  it('an allowed request: Allowed = 1 and its latency, under the service dimension only', async () => {
    const { key } = await newTestKey();
    const { line, outcome } = await invoke(agents(key));
    expect(outcome.status).toBe('fulfilled');
    const emf = readEmf(line);
    expect(emf.namespace).toBe(METRICS_NAMESPACE);
    expect(emf.dimensionSets).toEqual([['service']]);
    expect(emf.members.service).toBe(M.service);
    expect(Object.keys(emf.metrics).sort()).toEqual([M.allowed.name, M.decisionLatency.name].sort());
    expect(emf.metrics[M.allowed.name]).toEqual({ unit: 'Count', value: 1 });
    expectLatency(line);
    for (const s of secretsOf(key)) expect(JSON.stringify(line)).not.toContain(s);
  });

  it.each(REFUSAL_REASONS.filter((r) => !COUNTED_REFUSALS.has(r)))(
    'a refusal for %s: Refused = 1 by reason and in total, with its latency',
    async (reason) => {
      const { event, token } = await refusals[reason]();
      const { line, outcome } = await invoke(event);
      // Refused either way: a 401 (thrown) or a Deny policy (403).
      if (outcome.status === 'fulfilled') {
        expect(outcome.value.policyDocument.Statement[0]).toMatchObject({ Effect: 'Deny' });
      } else expect((outcome.reason as Error).message).toBe('Unauthorized');
      const emf = readEmf(line);
      expect(emf.namespace).toBe(METRICS_NAMESPACE);
      // [service, reason] per reason, and [service] alone for the total.
      expect(emf.dimensionSets).toEqual([['service', 'reason'], ['service']]);
      expect(emf.members).toMatchObject({ service: M.service, reason });
      expect(Object.keys(emf.metrics).sort()).toEqual([M.decisionLatency.name, M.refused.name].sort());
      expect(emf.metrics[M.refused.name]).toEqual({ unit: 'Count', value: 1 });
      expectLatency(line);
      // Nothing but the service, the reason and the metric values: no caller data at all.
      expect(Object.keys(emf.members).sort()).toEqual(
        ['service', 'reason', M.refused.name, M.decisionLatency.name].sort(),
      );
      for (const s of token ? secretsOf(token) : []) expect(JSON.stringify(line)).not.toContain(s);
    },
  );

  it('a store that cannot be read: StoreErrors = 1 and its latency, and the request still fails closed', async () => {
    const { key } = await newTestKey();
    const send = jest.spyOn(dynamodb, 'send').mockRejectedValue(new Error('network down') as never);
    try {
      const { line, outcome } = await invoke(agents(key));
      expect(outcome.status).toBe('rejected');
      const emf = readEmf(line);
      expect(emf.dimensionSets).toEqual([['service']]);
      expect(Object.keys(emf.metrics).sort()).toEqual([M.decisionLatency.name, M.storeErrors.name].sort());
      expect(emf.metrics[M.storeErrors.name]).toEqual({ unit: 'Count', value: 1 });
      expectLatency(line);
    } finally {
      send.mockRestore();
    }
  });

  it('refusals decided without a read: no line per request, one per reason and minute with the count', async () => {
    const minute = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
    const { key } = await newTestKey();
    fakeDateOnly(minute + 1_000);
    try {
      const quiet = await captureEmf(async () => {
        for (let i = 0; i < 3; i++) await handler(agents('sk_dev_nonsense')).catch(() => undefined);
        for (let i = 0; i < 2; i++) await handler(agents()).catch(() => undefined);
      });
      expect(quiet.lines).toEqual([]);
      jest.setSystemTime(minute + 61_000);
      const { lines, outcome } = await captureEmf(() => handler(agents(key)));
      expect(outcome.status).toBe('fulfilled');
      const byReason = Object.fromEntries(
        lines.filter((l) => 'reason' in l).map((l) => [l.reason as string, l]),
      );
      for (const [reason, count] of [
        ['malformed_token', 3],
        ['missing_token', 2],
      ] as const) {
        const emf = readEmf(byReason[reason] as EmfLine);
        expect(emf.dimensionSets).toEqual([['service', 'reason'], ['service']]);
        expect(emf.members).toEqual({ service: M.service, reason, [M.refused.name]: count });
        expect((byReason[reason] as EmfLine)._aws.Timestamp).toBe(minute);
      }
      // And the invocation's own line.
      expect(lines.filter((l) => !('reason' in l)).map((l) => readEmf(l).metrics[M.allowed.name])).toEqual([
        { unit: 'Count', value: 1 },
      ]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('never fails a request when metrics fail, and drops the failed values', async () => {
    const { key } = await newTestKey();
    const { outcome } = await captureEmf(async () => {
      const write = jest.spyOn(process.stdout, 'write').mockImplementationOnce(() => {
        throw new Error('injected');
      });
      try {
        return await handler(agents(key));
      } finally {
        write.mockRestore();
      }
    });
    expect(outcome.status).toBe('fulfilled');
    // The next invocation publishes only its own values.
    const { line } = await invoke(agents(key));
    expect(readEmf(line).metrics[M.allowed.name]).toEqual({ unit: 'Count', value: 1 });
  });
});
