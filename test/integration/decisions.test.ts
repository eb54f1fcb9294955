/**
 * One table of requests, decided by every front door (docs/authorizer.md): the shared authorizer
 * answering an API Gateway REST event (IAM policy) and an HTTP API payload 2.0 event (simple
 * response), and `POST /v1/keys/verify`. For each case all three must reach the same outcome code,
 * with the status the code has everywhere. Against DynamoDB Local, keys made by the real service
 * code, one registered API besides the built-in one; the table covers every outcome code.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayRequestAuthorizerEvent, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { isTold, OUTCOME_CODES, type OutcomeCode, outcomeStatus } from '../../functions/domain/outcomes';
import { formatToken, parseToken } from '../../functions/domain/token';
import { changeKey, revokeKey, rotateKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { STAGE_VARIABLES } from '../../lib/consumer-contract';
import { apiEvent, authorizerEvent, TEST_ACCOUNT } from '../support/events';
import { newTestKey, TEST_ACTOR } from '../support/keys';
import { call, invoke, managementRoutes } from '../support/management';
import { useFreshTables } from '../support/tables';

// Loaded after the environment useFreshTables sets (the handlers read settings on first use).
type Authorizer = typeof import('../../functions/handlers/authorizer');
const authorizerModule = () => require('../../functions/handlers/authorizer') as Authorizer;

/** What a request is, whichever front door it comes through. */
interface Facts {
  readonly token?: string;
  readonly header?: 'authorization' | 'x-api-key';
  /** `"METHOD /resource path"`. */
  readonly route: string;
  /** The registered API (the stage variable); absent: the built-in one. */
  readonly api?: string;
  /** The account of the API (authorizer) or of the verifying caller (verify). */
  readonly accountId?: string;
  readonly sourceIp?: string;
  /** The key store fails while this case is decided. */
  readonly storeDown?: boolean;
}

interface Case {
  readonly name: string;
  readonly code: OutcomeCode;
  readonly facts: () => Promise<Facts>;
}

const DEMO = 'GET /demo/agents';
const ORDERS = 'orders-decisions';

async function tokenOf(extra: Parameters<typeof newTestKey>[1] = {}, clock?: () => Date) {
  return (await newTestKey('decision', extra, TEST_ACTOR, clock)).key;
}

const cases: Case[] = [
  {
    name: 'a valid key, Bearer',
    code: 'allowed',
    facts: async () => ({ token: await tokenOf(), route: DEMO }),
  },
  {
    name: 'a valid key, X-API-Key',
    code: 'allowed',
    facts: async () => ({ token: await tokenOf(), header: 'x-api-key', route: DEMO }),
  },
  {
    name: 'admin implies execute, on a {param} route',
    code: 'allowed',
    facts: async () => ({
      token: await tokenOf({ scopes: ['agents:admin'] }),
      route: 'POST /demo/agents/{id}/execute',
    }),
  },
  {
    name: 'a registered API’s own scope on its route',
    code: 'allowed',
    facts: async () => ({
      token: await tokenOf({ scopes: [`${ORDERS}:read`], environment: 'production' }),
      api: ORDERS,
      route: 'GET /orders/{id}',
    }),
  },
  {
    name: 'the previous secret inside its grace period',
    code: 'allowed',
    facts: async () => {
      const { key, record } = await newTestKey('grace');
      await rotateKey(record.id, 3600, TEST_ACTOR);
      return { token: key, route: DEMO };
    },
  },
  { name: 'no token', code: 'missing_token', facts: async () => ({ route: DEMO }) },
  { name: 'junk', code: 'malformed_token', facts: async () => ({ token: 'sk_dev_nonsense', route: DEMO }) },
  {
    name: 'a well-formed token of no key',
    code: 'unknown_key',
    facts: async () => {
      const parsed = parseToken(await tokenOf());
      return { token: formatToken('development', 'ZZZZZZZZZZZZ', parsed?.secret ?? ''), route: DEMO };
    },
  },
  {
    name: 'a wrong secret',
    code: 'wrong_secret',
    facts: async () => {
      const parsed = parseToken(await tokenOf());
      const secret = parsed?.secret ?? '';
      const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      return { token: formatToken('development', parsed?.id ?? '', flipped), route: DEMO };
    },
  },
  {
    name: 'a previous secret past its grace',
    code: 'grace_expired',
    facts: async () => {
      const { record } = await newTestKey('old-grace');
      const start = Date.now();
      const { key: previous } = await rotateKey(record.id, 3600, TEST_ACTOR, () => new Date(start));
      await rotateKey(
        record.id,
        { grace_period_seconds: 1, end_previous_grace: true },
        TEST_ACTOR,
        () => new Date(start - 10_000),
      );
      return { token: previous, route: DEMO };
    },
  },
  {
    name: 'the key store is down',
    code: 'store_unavailable',
    facts: async () => ({ token: await tokenOf(), route: DEMO, storeDown: true }),
  },
  {
    name: 'a stage naming no registered API',
    code: 'api_unknown',
    facts: async () => ({ token: await tokenOf(), api: 'no-such-api', route: DEMO }),
  },
  {
    name: 'an API in an account the registration does not admit',
    code: 'account_not_allowed',
    facts: async () => ({
      token: await tokenOf({ scopes: [`${ORDERS}:read`], environment: 'production' }),
      api: ORDERS,
      accountId: '999999999999',
      route: 'GET /orders/{id}',
    }),
  },
  {
    name: 'the built-in API from another account',
    code: 'account_not_allowed',
    facts: async () => ({ token: await tokenOf(), accountId: '999999999999', route: DEMO }),
  },
  {
    name: 'a revoked key',
    code: 'revoked',
    facts: async () => {
      const { key, record } = await newTestKey('revoked');
      await revokeKey(record.id, TEST_ACTOR);
      return { token: key, route: DEMO };
    },
  },
  {
    name: 'a disabled key',
    code: 'disabled',
    facts: async () => {
      const { key, record } = await newTestKey('disabled');
      await changeKey(record.id, { enabled: false }, TEST_ACTOR);
      return { token: key, route: DEMO };
    },
  },
  {
    name: 'an expired key',
    code: 'expired',
    facts: async () => {
      const longAgo = Date.now() - 3 * 86_400_000;
      return { token: await tokenOf({ expires_in_days: 1 }, () => new Date(longAgo)), route: DEMO };
    },
  },
  {
    name: 'a key of another environment than the API’s',
    code: 'environment_mismatch',
    facts: async () => ({
      token: await tokenOf({ scopes: [`${ORDERS}:read`], environment: 'development' }),
      api: ORDERS,
      route: 'GET /orders/{id}',
    }),
  },
  {
    name: 'a source IP outside the allowlist',
    code: 'ip_not_allowed',
    facts: async () => ({
      token: await tokenOf({ ip_allowlist: ['203.0.113.0/24'] }),
      route: DEMO,
      sourceIp: '198.51.100.1',
    }),
  },
  {
    name: 'a route the API does not map',
    code: 'route_unknown',
    facts: async () => ({ token: await tokenOf(), route: 'DELETE /demo/agents' }),
  },
  {
    name: 'a scope the key lacks',
    code: 'scope_missing',
    facts: async () => ({ token: await tokenOf(), route: 'POST /demo/agents' }),
  },
  {
    name: 'a key over its rate limit',
    code: 'rate_limited',
    facts: async () => {
      const token = await tokenOf({ rate_limit: 1, rate_limit_window_seconds: 3600 });
      // Its one request of the hour, through verify.
      expect((await verify({ token, route: DEMO })).body.code).toBe('allowed');
      return { token, route: DEMO };
    },
  },
  {
    name: 'a key whose quota is used up',
    code: 'quota_exhausted',
    facts: async () => ({
      token: await tokenOf({ remaining: 0, refill_amount: 10, refill_interval: 3600 }),
      route: DEMO,
    }),
  },
  {
    name: 'a source IP cooling down after too many invalid tokens',
    code: 'ip_cooling_down',
    facts: async () => {
      const sourceIp = '203.0.113.99';
      // The default policy (docs/configuration.md): 20 invalid tokens within a minute.
      for (let i = 0; i < 20; i++) {
        await restStatus({ token: 'sk_dev_nonsense', route: DEMO, sourceIp });
      }
      return { token: await tokenOf(), route: DEMO, sourceIp };
    },
  },
  {
    name: 'a registered API’s other scope',
    code: 'scope_missing',
    facts: async () => ({
      token: await tokenOf({ scopes: [`${ORDERS}:read`], environment: 'production' }),
      api: ORDERS,
      route: 'POST /orders',
    }),
  },
];

// ---- The three front doors ---------------------------------------------------------------------------

const splitRoute = (route: string) => route.split(' ') as [string, string];

function restEvent(f: Facts): APIGatewayRequestAuthorizerEvent {
  const [method, resource] = splitRoute(f.route);
  const event = authorizerEvent(method, resource, {
    ...(f.token !== undefined ? { token: f.token } : {}),
    ...(f.header ? { header: f.header } : {}),
    ...(f.sourceIp ? { sourceIp: f.sourceIp } : {}),
  });
  return {
    ...event,
    stageVariables: f.api ? { [STAGE_VARIABLES.api]: f.api } : null,
    requestContext: { ...event.requestContext, accountId: f.accountId ?? TEST_ACCOUNT },
  };
}

function httpEvent(f: Facts): APIGatewayRequestAuthorizerEventV2 {
  const [method, resource] = splitRoute(f.route);
  const path = resource.replace(/\{[^}]+\}/g, 'x1');
  const headers: Record<string, string> = { 'user-agent': 'jest/1.0' };
  if (f.token !== undefined) {
    if (f.header === 'x-api-key') headers['x-api-key'] = f.token;
    else headers.authorization = `Bearer ${f.token}`;
  }
  return {
    version: '2.0',
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:us-east-1:${f.accountId ?? TEST_ACCOUNT}:h1t2p3/$default/${method}${path}`,
    identitySource: [],
    routeKey: f.route,
    rawPath: path,
    rawQueryString: '',
    cookies: [],
    headers,
    queryStringParameters: {},
    requestContext: {
      accountId: f.accountId ?? TEST_ACCOUNT,
      apiId: 'h1t2p3',
      domainName: 'h1t2p3.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'h1t2p3',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: f.sourceIp ?? '198.51.100.7',
        userAgent: 'jest/1.0',
      },
      requestId: randomUUID(),
      routeKey: f.route,
      stage: '$default',
      time: '29/Nov/2026:12:00:00 +0000',
      timeEpoch: Date.now(),
    },
    pathParameters: {},
    stageVariables: f.api ? { [STAGE_VARIABLES.api]: f.api } : {},
  } as unknown as APIGatewayRequestAuthorizerEventV2;
}

/** Status API Gateway answers with, from what the handler returned or threw. */
async function restStatus(f: Facts): Promise<number> {
  try {
    const result = await authorizerModule().handler(restEvent(f));
    return (result.policyDocument.Statement[0] as { Effect: string }).Effect === 'Allow' ? 200 : 403;
  } catch (error) {
    if ((error as Error).message !== 'Unauthorized') throw error;
    return 401;
  }
}

async function httpStatus(f: Facts): Promise<number> {
  try {
    const result = await authorizerModule().handler(httpEvent(f));
    return result.isAuthorized ? 200 : 403;
  } catch (error) {
    if ((error as Error).message !== 'Unauthorized') throw error;
    return 401;
  }
}

/** The authorizer's own code for the decision (what it audits), for either event shape. */
async function authorizerCode(event: APIGatewayRequestAuthorizerEvent | APIGatewayRequestAuthorizerEventV2) {
  try {
    const { decision } = await authorizerModule().authorize(event);
    return decision.effect === 'allow' ? 'allowed' : decision.reason;
  } catch {
    return 'store_unavailable';
  }
}

const verifyHandler = () => {
  const found = managementRoutes().find((r) => r.route.path === '/v1/keys/verify');
  if (!found) throw new Error('no verify route');
  return found.handler;
};

async function verify(f: Facts) {
  const event = apiEvent('POST', '/v1/keys/verify', {
    body: {
      ...(f.token !== undefined ? { key: f.token } : {}),
      ...(f.api ? { api: f.api } : {}),
      route: f.route,
      source_ip: f.sourceIp ?? '198.51.100.7',
    },
  });
  event.requestContext.identity.accountId = f.accountId ?? TEST_ACCOUNT;
  return invoke(verifyHandler(), event);
}

/**
 * Runs `body` with the key store failing (every call on the keys table rejected), or as is. Only
 * the keys table: verify's access check reads the admin table first, and a store that cannot even
 * say who the caller is answers 500 there (the client then fails closed, as the middleware test shows).
 */
async function withStore<T>(down: boolean | undefined, body: () => Promise<T>): Promise<T> {
  if (!down) return body();
  const realSend = dynamodb.send.bind(dynamodb) as (command: unknown) => Promise<unknown>;
  const send = jest
    .spyOn(dynamodb, 'send')
    .mockImplementation(((command: { input?: { TableName?: string } }) =>
      command.input?.TableName === keysTable
        ? Promise.reject(new Error('network down'))
        : realSend(command)) as never);
  try {
    return await body();
  } finally {
    send.mockRestore();
  }
}

let keysTable: string | undefined;

beforeAll(async () => {
  keysTable = (await useFreshTables()).KEYS_TABLE_NAME;
  const res = await call('PUT', '/v1/apis/{api}', {
    params: { api: ORDERS },
    body: {
      owner: 'orders-team',
      environment: 'production',
      accounts: [TEST_ACCOUNT],
      scopes: [
        { scope: `${ORDERS}:read`, description: 'View orders', risk_level: 'low' },
        { scope: `${ORDERS}:write`, description: 'Change orders', risk_level: 'medium' },
      ],
      routes: {
        'GET /orders/{id}': `${ORDERS}:read`,
        'POST /orders': `${ORDERS}:write`,
      },
    },
  });
  if (res.status !== 201) throw new Error(`registration failed: ${JSON.stringify(res.body)}`);
});

it('covers every outcome code', () => {
  expect([...new Set(cases.map((c) => c.code))].sort()).toEqual([...OUTCOME_CODES].sort());
});

describe.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
  it(`is ${c.code} (${outcomeStatus(c.code)}) at the REST authorizer, the HTTP API authorizer and verify`, async () => {
    const facts = await c.facts();
    const status = outcomeStatus(c.code);
    const seen = await withStore(facts.storeDown, async () => ({
      rest: { code: await authorizerCode(restEvent(facts)), status: await restStatus(facts) },
      http: { code: await authorizerCode(httpEvent(facts)), status: await httpStatus(facts) },
      verify: await verify(facts),
    }));
    expect(seen.rest).toEqual({ code: c.code, status });
    expect(seen.http).toEqual({ code: c.code, status });
    expect(seen.verify.status).toBe(200);
    expect(seen.verify.body).toMatchObject({ code: c.code, valid: c.code === 'allowed' });
    // Only where waiting helps does a refusal say how long (as the gateway response's Retry-After).
    if (isTold(c.code)) expect(seen.verify.body.retry_after).toEqual(expect.any(Number));
    else expect(seen.verify.body.retry_after).toBeNull();
    if (c.code === 'allowed') {
      expect(seen.verify.body.key_id).toBe(parseToken(facts.token ?? '')?.id);
      expect(seen.verify.body.scopes).toEqual(expect.any(Array));
    } else {
      expect(seen.verify.body.scopes).toBeNull();
    }
  });
});
