/**
 * Property-based: random bodies, query strings, path ids and next_tokens against EVERY management
 * route of `lib/declaration.ts` (`auth.type === 'iam'`), through the real handlers on DynamoDB Local.
 * Whatever comes in: never a 5xx (but the designed 503 of an organization whose `apiKeys.enabled`
 * a fuzzed PATCH switched off), every 4xx in the error shape, and a refused request writes nothing
 * but the audit entry of its refusal (the keys, admin and audit tables are compared item by item
 * before and after).
 *
 * `FUZZ_RUNS` sets the runs per route (default 100); a failure prints the seed to replay it.
 */
import fc from 'fast-check';
import type { RouteDeclaration } from '../../lib/declaration';
import type { LocalStack } from '../../local/stack';
import { apiEvent } from '../support/events';
import { startTestStack } from '../support/local-stack';
import { call, hasErrorShape, invoke, managementRoutes, snapshot } from '../support/management';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
const DESTINATION = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:latchkey/fuzz-AbCdEf';

let stack: LocalStack;
let tables: string[];
let auditTable: string;
/** Keys in different states (active with metadata, revoked, in a grace period, with a rotation policy). */
const fixtureIds: string[] = [];
/** next_tokens the API really issued, so the fuzzer also resumes real listings. */
const issuedTokens: string[] = [];
/** Tokens of the fixture keys, so verify also meets real keys. */
const issuedKeys: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  tables = [
    stack.tables.KEYS_TABLE_NAME as string,
    stack.tables.ADMIN_TABLE_NAME as string,
    stack.tables.APIS_TABLE_NAME as string,
  ];
  auditTable = stack.tables.AUDIT_TABLE_NAME as string;
  // A registered API with scopes of its own, so keys, verify and the registration routes meet one.
  const registered = await call('PUT', '/v1/apis/{api}', {
    params: { api: 'fuzz-api' },
    body: {
      owner: 'fuzzers',
      scopes: [{ scope: 'fuzz-api:read', description: 'Read', risk_level: 'low' }],
      routes: { 'GET /things/{id}': 'fuzz-api:read' },
    },
  });
  if (registered.status !== 201) {
    throw new Error(`fixture API not registered: ${JSON.stringify(registered.body)}`);
  }
  const make = async (body: Record<string, unknown>) => {
    const res = await call('POST', '/v1/api-keys', {
      body: { name: 'fuzz', scopes: ['agents:read'], ...body },
    });
    if (res.status !== 201) throw new Error(`fixture not created: ${JSON.stringify(res.body)}`);
    fixtureIds.push(res.body.id);
    issuedKeys.push(res.body.key);
    return res.body.id as string;
  };
  await make({
    metadata: { team: 'a', nested: { list: [1, 2] } },
    organization_id: 'fuzz',
    workspace_id: 'w1',
  });
  await make({ rotation: { every_days: 7, grace_period_seconds: 3600, destination: DESTINATION } });
  const revoked = await make({ organization_id: 'fuzz' });
  await call('DELETE', '/v1/api-keys/{id}', { params: { id: revoked } });
  const rotated = await make({});
  await call('POST', '/v1/api-keys/{id}/rotate', {
    params: { id: rotated },
    body: { grace_period_seconds: 600 },
  });
  const listings: Record<string, string>[] = [
    { limit: '1' },
    { limit: '1', organization_id: 'fuzz' },
    { limit: '1', workspace_id: 'w1' },
  ];
  for (const query of listings) {
    const res = await call('GET', '/v1/api-keys', { query });
    if (res.body.next_token) issuedTokens.push(res.body.next_token);
  }
});
afterAll(async () => {
  await stack?.stop();
});

// ---- Arbitraries ---------------------------------------------------------------------------------
// Values lean towards valid (so requests get past the first check and reach the services and the
// database), with wild ones mixed in at every field.

/** Mostly `valid`, sometimes `wild`. */
const lean = <T, U>(valid: fc.Arbitrary<T>, wild: fc.Arbitrary<U>) =>
  fc.oneof({ weight: 9, arbitrary: valid }, { weight: 1, arbitrary: wild });

/** Any UTF-16 code unit, unpaired surrogates included. */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u001b[31m',
  '\u0085',
  'abc\u202efdp',
  '\u2066x\u2069',
  '\ud800',
  '\udfff',
  '__proto__',
  'constructor',
  'x'.repeat(3000),
  '9'.repeat(400),
  '-1',
  '1e400',
  'NaN',
  'null',
  'true',
);
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: anyCodeUnit, maxLength: 40 }),
  nasty,
);
const json = fc.jsonValue({ maxDepth: 4 });
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const wild = fc.oneof(scalar, json);

/** A body field given as JSON text, written into the body as is. */
class RawJson {
  constructor(readonly text: string) {}
}

const timestamp = lean(
  fc.oneof(
    fc
      .date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59.999Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString()),
    fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: -14, max: 14 }),
        fc.integer({ min: 0, max: 9 }),
        fc.boolean(),
      )
      .map(
        ([y, h, digits, nines]) =>
          `${String(y).padStart(4, '0')}-12-31T23:59:59${digits ? `.${(nines ? '9' : '0').repeat(digits)}` : ''}` +
          `${h < 0 ? '-' : '+'}${String(Math.abs(h)).padStart(2, '0')}:00`,
      ),
    fc.constantFrom(
      '9999-12-31T23:00:00-02:00',
      '0000-01-01T00:00:00+01:00',
      '2030-02-30T00:00:00Z',
      '2099-01-01T00:00:00.123456Z',
      '2099-01-01T00:00:00.000000Z',
      '2099-01-01',
    ),
  ),
  fc.oneof(
    text,
    fc.date().map((d) => (Number.isNaN(d.getTime()) ? 'Invalid Date' : d.toISOString())),
  ),
);
const futureTimestamp = lean(
  fc
    .date({
      min: new Date(Date.now() + 86_400_000),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
  timestamp,
);
const smallInt = (min: number, max: number) =>
  lean(fc.integer({ min, max }), fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-1, 0, 1e21), text));
const scope = lean(
  fc.constantFrom('agents:read', 'agents:write', 'metrics:read', 'deployments:write', 'agents:admin'),
  fc.oneof(fc.constantFrom('system:admin', 'agents:fly', 'billing:read'), text),
);
const scopes = lean(fc.array(scope, { minLength: 1, maxLength: 4 }), wild);
const tenant = lean(fc.constantFrom('default', 'fuzz', 'w1', 'acme'), text);
const displayName = lean(fc.constantFrom('fuzzed', 'Ünïcødé 🔑', 'CI/CD'), text);
const nested = (levels: fc.Arbitrary<number>) =>
  levels.map((n) => new RawJson(`{"x":${'['.repeat(n)}${']'.repeat(n)}}`));
const metadata = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.string(), json, { maxKeys: 5 }) },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.jsonValue({ maxDepth: 14 }),
      fc.string({ unit: anyCodeUnit, maxLength: 5000 }).map((s) => ({ blob: s })),
      nested(fc.integer({ min: 1, max: 20 })),
      // Thousands of levels in a body under 16 KB: as raw text, since even this test could not
      // JSON.stringify such a value.
      nested(fc.integer({ min: 5000, max: 7000 })),
    ),
  },
);
const rotation = lean(
  fc.record(
    {
      every_days: smallInt(1, 365),
      grace_period_seconds: smallInt(0, 604_800),
      destination: lean(fc.constant(DESTINATION), text),
    },
    { requiredKeys: ['every_days', 'destination'] },
  ),
  wild,
);
const ipAllowlist = lean(
  fc.array(fc.constantFrom('10.0.0.0/8', '2001:db8::/32', '192.0.2.4', '::ffff:10.0.0.1'), { maxLength: 3 }),
  fc.oneof(fc.array(fc.oneof(fc.constantFrom('10.0.0.0/33', '1.2.3'), text), { maxLength: 3 }), wild),
);
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: arb }, fc.constant(null));

const createFields = fc.record(
  {
    name: displayName,
    description: lean(fc.constantFrom('deploys', 'line 1\nline 2'), text),
    scopes,
    environment: lean(fc.constantFrom('production', 'staging', 'sandbox', 'development'), text),
    expires_at: futureTimestamp,
    rate_limit: smallInt(1, 1_000_000),
    ip_allowlist: ipAllowlist,
    organization_id: tenant,
    workspace_id: tenant,
    key_type: lean(fc.constantFrom('workspace', 'organization'), fc.oneof(fc.constant('system'), text)),
    metadata,
    rotation,
  },
  { requiredKeys: ['name', 'scopes'] },
);
// expires_in_days mostly where expires_at is not (both at once is a refusal of its own).
const createBody = fc
  .tuple(createFields, fc.option(smallInt(1, 3650), { freq: 2 }), fc.nat(9))
  .map(([b, days, dice]) =>
    days === null || ('expires_at' in b && dice > 0) ? b : { ...b, expires_in_days: days },
  );
const patchBody = fc.record(
  {
    name: displayName,
    description: nullable(lean(fc.constant('changed'), text)),
    scopes,
    rate_limit: nullable(smallInt(1, 1_000_000)),
    ip_allowlist: nullable(ipAllowlist),
    expires_at: nullable(futureTimestamp),
    enabled: lean(fc.boolean(), wild),
    metadata: nullable(metadata),
    rotation: nullable(rotation),
  },
  { requiredKeys: [] },
);
const rotateBody = fc.record(
  { grace_period_seconds: smallInt(0, 604_800), end_previous_grace: lean(fc.boolean(), wild) },
  { requiredKeys: [] },
);
const role = lean(fc.constantFrom('member', 'auditor', 'workspace_admin', 'org_owner', 'super_admin'), text);
const principalArn = lean(
  fc.constantFrom(
    'arn:aws:iam::123456789012:user/fuzzed',
    'arn:aws:iam::123456789012:role/Fuzz',
    'arn:aws:sts::123456789012:assumed-role/Fuzz/*',
  ),
  text,
);
const ruleArb = lean(
  fc.record(
    {
      id: lean(fc.constantFrom('r1', 'no-prod', 'hours'), text),
      effect: lean(fc.constantFrom('deny', 'warn'), text),
      actions: lean(fc.constantFrom(['api_key:create'], ['*'], ['api_key:*']), wild),
      when: lean(
        fc.record(
          {
            roles: fc.constantFrom(['org_owner'], ['auditor']),
            scopes: fc.constantFrom(['system:*'], ['*:execute']),
            environments: fc.constantFrom(['production']),
            time: lean(
              fc.constant({ time_zone: 'Europe/Paris', from: '09:00', to: '18:00', match: 'outside' }),
              wild,
            ),
            source_ip: lean(fc.constant({ cidrs: ['10.0.0.0/8'], match: 'outside' }), wild),
            elevated: fc.boolean(),
            expires_beyond_days: smallInt(1, 3650),
          },
          { requiredKeys: [] },
        ),
        wild,
      ),
    },
    { requiredKeys: ['id', 'effect', 'actions', 'when'] },
  ),
  wild,
);
const routeKey = lean(
  fc.constantFrom('GET /things', 'POST /things/{id}', 'GET /{proxy+}', 'DELETE /', 'GET /a/{p+}/b', 'ANY /x'),
  text,
);
const apiScope = lean(fc.constantFrom('fuzzmod:read', 'fuzzmod:admin', 'fuzz-api:read', 'agents:read'), text);
const putApiBody = fc.record(
  {
    owner: displayName,
    description: lean(fc.constant('an API'), text),
    organization_id: tenant,
    environment: lean(fc.constantFrom('production', 'development', null), text),
    accounts: lean(
      fc.array(fc.constantFrom('123456789012', '222222222222'), { minLength: 1, maxLength: 3 }),
      wild,
    ),
    scopes: lean(
      fc.array(
        fc.record({
          scope: apiScope,
          description: lean(fc.constant('does things'), text),
          risk_level: lean(fc.constantFrom('low', 'critical'), text),
        }),
        { maxLength: 3 },
      ),
      wild,
    ),
    routes: lean(fc.dictionary(routeKey, apiScope, { maxKeys: 4 }), wild),
  },
  { requiredKeys: ['owner', 'routes'] },
);
const verifyBody = fc.record(
  {
    key: lean(
      fc.nat().map((n) => issuedKeys[n % Math.max(issuedKeys.length, 1)] ?? ''),
      text,
    ),
    api: lean(fc.constantFrom('default', 'fuzz-api', 'nope'), text),
    route: lean(fc.constantFrom('GET /demo/agents', 'GET /things/{id}', 'POST /things'), text),
    scope: lean(fc.constantFrom('agents:read', 'fuzz-api:read'), text),
    source_ip: lean(fc.constantFrom('203.0.113.5', '2001:db8::1'), text),
  },
  { requiredKeys: [] },
);
const BODIES: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  'PUT /v1/apis/{api}': putApiBody,
  'POST /v1/keys/verify': verifyBody,
  'POST /v1/organizations': fc.record({ organization_id: tenant, name: displayName }, { requiredKeys: [] }),
  'PATCH /v1/organizations/{org}': fc.record(
    {
      name: displayName,
      status: lean(fc.constantFrom('active', 'archived'), text),
      api_keys_enabled: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  'POST /v1/organizations/{org}/workspaces': fc.record(
    { workspace_id: tenant, name: displayName },
    { requiredKeys: [] },
  ),
  'PATCH /v1/organizations/{org}/workspaces/{workspace}': fc.record(
    { name: displayName, status: lean(fc.constantFrom('active', 'archived'), text) },
    { requiredKeys: [] },
  ),
  'PUT /v1/organizations/{org}/policy': fc.record(
    {
      built_in: lean(
        fc.record(
          {
            production_expiry: fc.record({ enabled: fc.boolean(), max_days: smallInt(1, 3650) }),
            execute_requires_elevation: fc.record({ enabled: fc.boolean() }),
            revoked_keys_final: fc.record({ enabled: lean(fc.constant(true), wild) }),
          },
          { requiredKeys: [] },
        ),
        wild,
      ),
      rules: lean(fc.array(ruleArb, { maxLength: 3 }), wild),
      version: smallInt(0, 5),
    },
    { requiredKeys: ['rules'] },
  ),
  'PUT /v1/admin-bindings': fc.record(
    {
      principal: principalArn,
      role,
      organization_id: nullable(tenant),
      workspace_ids: lean(fc.array(tenant, { maxLength: 2 }), wild),
      root_allowed: fc.boolean(),
    },
    { requiredKeys: ['principal', 'role'] },
  ),
  'POST /v1/root-mode': fc.record(
    { duration_minutes: smallInt(1, 15), reason: displayName },
    { requiredKeys: [] },
  ),
  'POST /v1/api-keys': lean(
    createBody,
    createBody.map(({ name: _, ...rest }) => rest),
  ),
  'PATCH /v1/api-keys/{id}': patchBody,
  'POST /v1/api-keys/{id}/rotate': rotateBody,
};

/** Raw JSON text of an object built from pairs, so keys like `__proto__` and duplicates survive. */
const objectText = (pairs: [string, unknown][]) =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v instanceof RawJson ? v.text : (JSON.stringify(v) ?? 'null')}`).join(',')}}`;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/** The raw body: the route's own fields (plus, sometimes, a stray one), or anything at all. */
function rawBody(routeKey: string): fc.Arbitrary<string | null> {
  const own = BODIES[routeKey];
  const stray = fc.tuple(fc.oneof(fc.constantFrom('__proto__', 'status', 'id'), fc.string()), wild);
  const chaos = fc.oneof(
    json.map((v) => JSON.stringify(v)),
    text,
  );
  if (!own) return fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: chaos });
  return fc.oneof(
    { weight: 8, arbitrary: own.map((b) => objectText(Object.entries(b))) },
    {
      weight: 2,
      arbitrary: fc.tuple(own, stray).map(([b, extra]) => objectText([...Object.entries(b), extra])),
    },
    // `__proto__` inside the metadata tree, where a schema would drop it silently.
    {
      weight: 1,
      arbitrary: own.map((b) =>
        objectText([...Object.entries(b), ['metadata', { team: 'x' }]]).replace(
          '{"team"',
          '{"__proto__":{"admin":true},"team"',
        ),
      ),
    },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: chaos },
  );
}

// next_tokens: the API's own, forged ones with the right attribute names (empty, long, odd values),
// and arbitrary base64 of JSON.
const KEY_SHAPES = [
  ['id', 'kind', 'created_sort'],
  ['id', 'organization_id', 'created_sort'],
  ['id', 'workspace_id', 'created_sort'],
  ['pk', 'sk'],
  ['pk', 'sk', 'organization_id'],
];
const fixtureId = fc.nat().map((n) => fixtureIds[n % Math.max(fixtureIds.length, 1)] ?? '');
const keyValue = lean(
  fc.oneof(
    fc.constantFrom('api_key', 'default', 'fuzz', 'w1', '', '2030-01-01T00:00:00.000Z#AAAAAAAAAAAA'),
    fixtureId,
    fixtureId.map((id) => `KEY#${id}`),
    fc.date({ noInvalidDate: true }).map((d) => `${d.toISOString()}#x`),
  ),
  fc.oneof(text, fc.integer(), fc.constant(null), json, fc.constant('\u00e9'.repeat(300))),
);
const forgedKey = fc
  .tuple(fc.constantFrom(...KEY_SHAPES), fc.array(keyValue, { minLength: 3, maxLength: 3 }))
  .map(([names, values]) => b64(objectText(names.map((n, i) => [n, values[i]]))));
const nextToken = fc.oneof(
  { weight: 2, arbitrary: fc.nat().map((n) => issuedTokens[n % Math.max(issuedTokens.length, 1)] ?? '') },
  { weight: 4, arbitrary: forgedKey },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.tuple(fc.oneof(fc.constantFrom('id', 'pk', 'sk', '__proto__'), fc.string()), keyValue), {
        maxLength: 5,
      })
      .map((pairs) => b64(objectText(pairs))),
  },
  { weight: 1, arbitrary: json.map((v) => b64(JSON.stringify(v))) },
  { weight: 1, arbitrary: fc.oneof(text, fc.base64String({ maxLength: 200 })) },
);

const QUERY_VALUES: Record<string, fc.Arbitrary<string>> = {
  limit: lean(fc.integer({ min: 1, max: 100 }).map(String), fc.oneof(fc.integer().map(String), text)),
  next_token: nextToken,
  principal: principalArn,
  status: lean(fc.constantFrom('active', 'disabled', 'expired', 'revoked'), text),
  environment: lean(fc.constantFrom('production', 'development'), text),
  scope: scope.map(String),
  organization_id: tenant,
  workspace_id: tenant,
  event_name: lean(fc.constantFrom('admin.api_key_created', 'admin.api_key_used'), text),
  key_id: lean(fixtureId, text),
  actor: lean(fc.constantFrom('arn:aws:iam::123456789012:user/security-admin'), text),
  from: timestamp.map(String),
  to: timestamp.map(String),
  format: lean(fc.constantFrom('json', 'csv'), text),
  day: lean(
    fc
      .integer({ min: -40, max: 5 })
      .map((n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10)),
    fc.oneof(text, fc.constantFrom('2030-02-30', '2030-1-1', '20300101')),
  ),
};
const QUERY_KEYS: Record<string, string[]> = {
  'GET /v1/api-keys': [
    'status',
    'environment',
    'scope',
    'organization_id',
    'workspace_id',
    'limit',
    'next_token',
  ],
  'GET /v1/api-keys/export': [
    'format',
    'status',
    'environment',
    'scope',
    'organization_id',
    'workspace_id',
    'limit',
    'next_token',
  ],
  'GET /v1/api-keys/overview': ['organization_id', 'day'],
  'GET /v1/api-keys/{id}/audit': ['limit', 'next_token'],
  'GET /v1/audit': ['organization_id', 'event_name', 'key_id', 'actor', 'from', 'to', 'limit', 'next_token'],
  'GET /v1/organizations': ['limit', 'next_token'],
  'GET /v1/apis': ['limit', 'next_token'],
  'GET /v1/organizations/{org}/workspaces': ['limit', 'next_token'],
  'GET /v1/admin-bindings': ['organization_id', 'principal', 'limit', 'next_token'],
};

/**
 * A key of the very listing a request asks for (same partition, inside its range), as a real
 * next_token would hold, so that a mutation of one attribute tests `checkStartKey` itself.
 */
function listingKey(
  routeKey: string,
  q: Record<string, string>,
  id: string | undefined,
): Record<string, string> {
  const sk = `${q.from ?? '2030-01-01T00:00:00.000Z'}#event`;
  const keyId = fixtureIds[0] ?? 'AAAAAAAAAAAA';
  const createdSort = `2030-01-01T00:00:00.000Z#${keyId}`;
  if (routeKey === 'GET /v1/api-keys' || routeKey === 'GET /v1/api-keys/export') {
    if (q.workspace_id) return { id: keyId, workspace_id: q.workspace_id, created_sort: createdSort };
    if (q.organization_id)
      return { id: keyId, organization_id: q.organization_id, created_sort: createdSort };
    return { id: keyId, kind: 'api_key', created_sort: createdSort };
  }
  if (routeKey === 'GET /v1/api-keys/{id}/audit') return { pk: `KEY#${id}`, sk };
  if (routeKey === 'GET /v1/apis') return { pk: 'API#fuzz-api', kind: 'api', name: 'fuzz-api' };
  if (q.key_id) return { pk: `KEY#${q.key_id}`, sk };
  return { pk: `KEY#${keyId}`, sk, organization_id: q.organization_id ?? 'default' };
}

/** That key with one attribute changed, dropped or added (or none: then it is a valid token). */
function mutatedToken(key: Record<string, string>): fc.Arbitrary<string> {
  const names = Object.keys(key);
  const mutation = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...names), lean(fc.constantFrom('', ' '), keyValue)) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...names), fc.constant(undefined)) },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'id', 'pk')), keyValue),
    },
    { weight: 1, arbitrary: fc.constant(null) },
  );
  return mutation.map((m) => {
    const pairs: [string, unknown][] = Object.entries(key);
    if (m) {
      const [name, value] = m;
      const at = pairs.findIndex(([n]) => n === name);
      if (value === undefined) pairs.splice(at, 1);
      else if (at >= 0) pairs[at] = [name, value];
      else pairs.push([name, value]);
    }
    return b64(objectText(pairs));
  });
}

/** The route's own query parameters (a few of them), sometimes a stray one, sometimes none. */
function query(routeKey: string, id: string | undefined): fc.Arbitrary<Record<string, string> | null> {
  const own = (QUERY_KEYS[routeKey] ?? []).filter((k) => k !== 'next_token');
  const listing = QUERY_KEYS[routeKey]?.includes('next_token') ?? false;
  const strayKey = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'limit'));
  const pair = (key: fc.Arbitrary<string>) =>
    key.chain((k) =>
      ((Object.hasOwn(QUERY_VALUES, k) && QUERY_VALUES[k]) || text).map((v): [string, string] => [k, v]),
    );
  const pairs = fc.tuple(
    fc.subarray(own).chain((keys) => fc.tuple(...keys.map((k) => pair(fc.constant(k))))),
    fc.oneof(
      { weight: own.length ? 8 : 4, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: pair(strayKey) },
    ),
  );
  // Object.fromEntries defines own properties, `__proto__` included, as a parsed event would hold.
  const withToken = pairs
    .map(([list, extra]) => Object.fromEntries(extra ? [...list, extra] : list))
    .chain((q) => {
      if (!listing) return fc.constant(q);
      const token = fc.oneof(
        { weight: 3, arbitrary: mutatedToken(listingKey(routeKey, q, id)) },
        { weight: 2, arbitrary: nextToken },
        { weight: 1, arbitrary: fc.constant(undefined) },
      );
      return token.map((t) => (t === undefined ? q : { ...q, next_token: t }));
    });
  return fc.option(withToken, { freq: 6 });
}

/** API Gateway decodes the path from UTF-8, so a path parameter is always well-formed text. */
const pathId = lean(
  fixtureId,
  fc.oneof(
    fc.stringMatching(/^[0-9A-Za-z]{12}$/),
    text.map((s) => s.replace(/\p{Cs}/gu, '\ufffd')),
  ),
);
const contentType = lean(
  fc.constantFrom('application/json', 'application/json; charset=utf-8'),
  fc.constantFrom('text/plain', ''),
);

// ---- The property ----------------------------------------------------------------------------------

/** A value for each `{param}` of a path: key ids for `{id}`, tenant ids and junk for the others. */
function pathParams(path: string): fc.Arbitrary<Record<string, string> | undefined> {
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
  if (names.length === 0) return fc.constant(undefined);
  const value = (name: string) =>
    name === 'id'
      ? pathId
      : name === 'api'
        ? lean(fc.constantFrom('fuzz-api', 'default', 'fresh-api', 'nope'), text).map((s) =>
            s.replace(/\p{Cs}/gu, '\ufffd'),
          )
        : lean(tenant, text).map((s) => s.replace(/\p{Cs}/gu, '\ufffd'));
  return fc
    .tuple(...names.map(value))
    .map((values) => Object.fromEntries(names.map((n, i): [string, string] => [n, String(values[i])])));
}

/** What a refused request may leave behind: the audit entry of its own refusal, nothing else. */
const REFUSAL_EVENTS = new Set(['admin.access_denied', 'root_mode.required_for_api_key']);

async function auditItems(): Promise<Map<string, string>> {
  const all = JSON.parse(await snapshot([auditTable])) as Record<string, string[]>;
  return new Map(
    (all[auditTable] ?? []).map((i) => [i, (JSON.parse(i) as { event_name: { S: string } }).event_name.S]),
  );
}

function checkRoute(route: RouteDeclaration, handler: Parameters<typeof invoke>[0]) {
  const routeKey = `${route.method} ${route.path}`;
  const idAndQuery = pathParams(route.path).chain((params) =>
    query(routeKey, params?.id).map((q) => [params, q] as const),
  );
  return fc.asyncProperty(idAndQuery, rawBody(routeKey), contentType, async ([params, q], body, type) => {
    const event = apiEvent(route.method, route.path, {
      ...(params === undefined ? {} : { params }),
      ...(q ? { query: q } : {}),
      ...(body === null ? {} : { rawBody: body, headers: { 'Content-Type': type } }),
    });
    const before = await snapshot(tables);
    const auditBefore = await auditItems();
    const res = await invoke(handler, event);
    const disabled = res.status === 503 && res.body?.error?.code === 'service_disabled';
    if (res.status >= 500 && !disabled) throw new Error(`${res.status}: ${JSON.stringify(res.body)}`);
    if (res.status >= 400) {
      if (!hasErrorShape(res.body)) throw new Error(`no error shape: ${JSON.stringify(res.body)}`);
      const after = await snapshot(tables);
      if (after !== before) throw new Error(`a refused request (${res.status}) wrote to a table`);
      const added = [...(await auditItems())].filter(([item]) => !auditBefore.has(item));
      if (added.some(([, name]) => !REFUSAL_EVENTS.has(name)) || added.length > 1) {
        throw new Error(
          `a refused request (${res.status}) wrote audit entries: ${added.map(([, n]) => n).join(', ')}`,
        );
      }
    }
  });
}

describe('every management route, with random input', () => {
  const all = managementRoutes();
  it('covers every IAM route of the declaration', () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(all.every((r) => r.route.auth.type === 'iam')).toBe(true);
  });
  it.each(all.map((r) => [`${r.route.method} ${r.route.path}`, r] as const))(
    '%s: never 5xx, 4xx in the error shape, nothing written on refusal',
    async (_name, { route, handler }) => {
      await fc.assert(checkRoute(route, handler), { numRuns: RUNS });
    },
  );
});
