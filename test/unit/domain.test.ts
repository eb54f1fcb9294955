/** The pure domain rules: hashing, scopes, IP ranges, the authorizer's decision and its policy. */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import type { ApiKeyItem } from '../../functions/domain/api-key';
import { definitionProblems, routeKeyProblem } from '../../functions/domain/api-registration';
import {
  apiBaseArn,
  apiRefusal,
  decide,
  grantedResources,
  type RequestFacts,
} from '../../functions/domain/authorization';
import { hashSecret, secretMatches } from '../../functions/domain/hashing';
import { isValidCidr, normalizeCidr } from '../../functions/domain/ip-allowlist';
import { ipAllowed } from '../../functions/domain/ip-match';
import {
  OUTCOME_CODES,
  outcomeStatus,
  TOLD_REASONS,
  UNAUTHORIZED_REASONS,
} from '../../functions/domain/outcomes';
import { LIMIT_REASONS } from '../../functions/domain/rate-limit';
import { catalogEntry, grants, scopeCatalog } from '../../functions/domain/scopes';
import { COOL_DOWN_REASON } from '../../functions/domain/source-guard';
import { formatToken, newKeyId, newSecret, parseToken } from '../../functions/domain/token';
import { REFUSAL_REASONS } from '../../lib/metric-catalog';

describe('hashing', () => {
  it('matches only the secret it was made from', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b) => {
        expect(secretMatches(a, hashSecret(a))).toBe(true);
        if (a !== b) expect(secretMatches(b, hashSecret(a))).toBe(false);
      }),
    );
  });

  it('is SHA-256 hex and refuses malformed stored hashes instead of throwing', () => {
    expect(hashSecret('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(secretMatches('abc', undefined)).toBe(false);
    expect(secretMatches('abc', 'ba78')).toBe(false);
    expect(secretMatches('abc', 'z'.repeat(64))).toBe(false);
  });
});

describe('scopes', () => {
  it('holds the seed catalog with module and risk level', () => {
    for (const s of [
      'agents:read',
      'agents:write',
      'deployments:read',
      'deployments:write',
      'metrics:read',
    ]) {
      expect(catalogEntry(s)).toBeDefined();
    }
    for (const m of [
      'pipelines',
      'gateways',
      'workflows',
      'sandbox',
      'demo-builds',
      'integrations',
      'monitoring',
      'governance',
    ]) {
      expect(scopeCatalog.some((e) => e.module === m)).toBe(true);
    }
    expect(scopeCatalog.every((e) => ['low', 'medium', 'high', 'critical'].includes(e.risk_level))).toBe(
      true,
    );
  });

  it('lets admin imply read, write and execute on its own module only', () => {
    expect(grants(['agents:admin'], 'agents:execute')).toBe(true);
    expect(grants(['agents:admin'], 'agents:read')).toBe(true);
    expect(grants(['agents:admin'], 'metrics:read')).toBe(false);
    expect(grants(['agents:write'], 'agents:read')).toBe(false);
    expect(grants(['agents:read'], 'agents:read')).toBe(true);
    expect(grants([], 'agents:read')).toBe(false);
  });
});

describe('IP allowlist', () => {
  it('accepts CIDRs and bare addresses, refuses junk', () => {
    expect(normalizeCidr('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(normalizeCidr('192.0.2.4')).toBe('192.0.2.4/32');
    expect(normalizeCidr('2001:db8::1')).toBe('2001:db8::1/128');
    expect(normalizeCidr('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(normalizeCidr('2001:db8:1::7/32')).toBe('2001:db8::/32');
    for (const bad of [
      '10.0.0.0/33',
      '2001:db8::/129',
      'example.com',
      '',
      '1.2.3',
      '10.0.0.0/-1',
      '010.0.0.1',
      '0x7f.1',
      '10.0.0.0/8/8',
      '10.0.0.0/',
    ]) {
      expect(isValidCidr(bad)).toBe(false);
    }
  });

  it('matches any address inside an IPv4 range and none outside', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.ipV4(), (net, bits, ip) => {
        const [range] = normalizeCidr(`${net}/${bits}`).split('/');
        const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
        const mask = bits === 0 ? 0 : 2 ** 32 - 2 ** (32 - bits);
        const inside = (toInt(ip) & mask) >>> 0 === (toInt(range ?? net) & mask) >>> 0;
        expect(ipAllowed(ip, [`${net}/${bits}`])).toBe(inside);
      }),
    );
  });

  it('matches exactly as ipaddr.js did, for any canonical IPv4 or IPv6 source and range', () => {
    const previous = (ip: string, cidrs: string[]) => {
      let addr: ipaddr.IPv4 | ipaddr.IPv6;
      try {
        addr = ipaddr.process(ip);
      } catch {
        return false;
      }
      return cidrs.some((cidr) => {
        try {
          const [range, bits] = ipaddr.parseCIDR(cidr);
          return range.kind() === addr.kind() && addr.match([range, bits] as never);
        } catch {
          return false;
        }
      });
    };
    const address = fc.oneof(
      fc.ipV4(),
      // Not `::1.2.3.4` (IPv4-compatible, deprecated): ipaddr.js alone reads that text as IPv4.
      fc.ipV6().filter((a) => !/^::\d+\.\d+\.\d+\.\d+$/.test(a)),
      fc.ipV4().map((a) => `::ffff:${a}`),
      fc.constantFrom('::', '::1', '::ffff:0:0', '1::', '1:2:3:4:5:6:7:8:9', ':::1'),
    );
    const cidr = fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 33 })).map(([a, b]) => `${a}/${b}`),
      fc
        .tuple(
          fc.ipV6().filter((a) => !/^::\d+\.\d+\.\d+\.\d+$/.test(a)),
          fc.integer({ min: 0, max: 129 }),
        )
        .map(([a, b]) => `${a}/${b}`),
      fc.tuple(fc.ipV4(), fc.integer({ min: 96, max: 128 })).map(([a, b]) => `::ffff:${a}/${b}`),
      fc.constantFrom('10.0.0.0', 'x/8', '10.0.0.0/08', '::/0', '0.0.0.0/0'),
    );
    fc.assert(
      fc.property(address, fc.array(cidr, { maxLength: 3 }), (ip, cidrs) => {
        expect(ipAllowed(ip, cidrs)).toBe(previous(ip, cidrs));
      }),
      { numRuns: 5000 },
    );
    // Sources near each range, so matches are common too.
    fc.assert(
      fc.property(fc.ipV6(), fc.integer({ min: 0, max: 128 }), fc.nat(0xffff), (net, bits, low) => {
        const parsed = ipaddr.IPv6.parse(net).toNormalizedString().split(':');
        parsed[7] = low.toString(16);
        const ip = parsed.join(':');
        expect(ipAllowed(ip, [`${net}/${bits}`])).toBe(previous(ip, [`${net}/${bits}`]));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses IPv4 sources that are not four-part decimal (API Gateway never sends them; ipaddr.js read them as inet_aton does)', () => {
    for (const ip of ['1.2.3', '010.0.0.1', '0x7f.0.0.1', '4294967295'])
      expect(ipAllowed(ip, ['0.0.0.0/0'])).toBe(false);
  });

  it('treats IPv4-mapped IPv6 as IPv4 and never matches across families', () => {
    expect(ipAllowed('::ffff:10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(ipAllowed('10.1.2.3', ['::/0'])).toBe(false);
    expect(ipAllowed('2001:db8::1', ['0.0.0.0/0'])).toBe(false);
    expect(ipAllowed('not an ip', ['0.0.0.0/0'])).toBe(false);
  });
});

describe('decision', () => {
  const secret = newSecret();
  const id = newKeyId();
  const token = parseToken(formatToken('production', id, secret));
  if (!token) throw new Error('bad token');
  const now = new Date('2026-06-01T12:00:00Z');
  const key: ApiKeyItem = {
    id,
    kind: 'api_key',
    name: 'k',
    key_prefix: token.prefix,
    environment: 'production',
    key_type: 'workspace',
    organization_id: 'o',
    workspace_id: 'w',
    scopes: ['agents:read'],
    status: 'active',
    created_by: 'me',
    created_at: now.toISOString(),
    created_sort: now.toISOString(),
    updated_at: now.toISOString(),
    secret_hash: hashSecret(secret),
    version: 1,
    last_change: { principal: 'me', kind: 'created', at: now.toISOString() },
  };
  const facts: RequestFacts = {
    routeKey: 'GET /demo/agents',
    sourceIp: '203.0.113.5',
    now,
    apiEnvironment: 'production',
    routeScopes: { 'GET /demo/agents': 'agents:read', 'POST /demo/agents': 'agents:write' },
  };
  const reason = (k: ApiKeyItem | undefined, f: Partial<RequestFacts> = {}) => {
    const d = decide(token, k, { ...facts, ...f });
    return d.effect === 'allow' ? 'allow' : d.reason;
  };

  it('checks in the order of docs/authorizer.md; the first failure decides', () => {
    expect(reason(key)).toBe('allow');
    expect(reason(undefined)).toBe('unknown_key');
    expect(reason({ ...key, environment: 'staging' })).toBe('unknown_key');
    expect(reason({ ...key, secret_hash: hashSecret('other') })).toBe('wrong_secret');
    // Revoked beats every later check, even an expired one.
    expect(reason({ ...key, status: 'revoked', expires_at: '2020-01-01T00:00:00Z' })).toBe('revoked');
    expect(reason({ ...key, status: 'disabled', expires_at: '2020-01-01T00:00:00Z' })).toBe('disabled');
    expect(reason({ ...key, expires_at: now.toISOString() })).toBe('expired');
    expect(reason(key, { apiEnvironment: 'development' })).toBe('environment_mismatch');
    expect(reason({ ...key, ip_allowlist: ['198.51.100.0/24'] })).toBe('ip_not_allowed');
    expect(reason({ ...key, ip_allowlist: ['198.51.100.0/24'] }, { sourceIp: undefined })).toBe(
      'ip_not_allowed',
    );
    expect(reason(key, { routeKey: 'DELETE /demo/agents' })).toBe('route_unknown');
    expect(reason(key, { routeKey: 'POST /demo/agents' })).toBe('scope_missing');
  });

  it('accepts the previous secret only inside its grace period', () => {
    const rotated = { ...key, secret_hash: hashSecret('new'), previous_secret_hash: hashSecret(secret) };
    const inGrace = { ...rotated, previous_secret_expires_at: new Date(now.getTime() + 1000).toISOString() };
    const d = decide(token, inGrace, facts);
    expect(d.effect === 'allow' && d.usedPreviousSecret).toBe(true);
    expect(reason({ ...rotated, previous_secret_expires_at: now.toISOString() })).toBe('grace_expired');
    expect(reason({ ...rotated })).toBe('grace_expired');
  });

  it('grants exactly the method ARNs the scopes cover, with path parameters as wildcards', () => {
    const arn = 'arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/GET/demo/agents';
    expect(apiBaseArn(arn)).toBe('arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1');
    const map = {
      'GET /demo/agents': 'agents:read',
      'POST /demo/agents/{id}/execute': 'agents:execute',
      'GET /demo/metrics': 'metrics:read',
    };
    expect(grantedResources(arn, ['agents:admin'], map)).toEqual([
      'arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/GET/demo/agents',
      'arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/POST/demo/agents/*/execute',
    ]);
    expect(grantedResources(arn, ['metrics:write'], map)).toEqual([]);
  });
});

describe('protected APIs (docs/protecting-apis.md)', () => {
  it('refuses a request to an unknown registration, or from an account it does not list', () => {
    expect(apiRefusal(undefined, '111122223333')).toBe('api_unknown');
    expect(apiRefusal({ accounts: ['111122223333'] }, '444455556666')).toBe('account_not_allowed');
    expect(apiRefusal({ accounts: ['111122223333'] }, undefined)).toBe('account_not_allowed');
    expect(apiRefusal({ accounts: ['111122223333'] }, '111122223333')).toBeUndefined();
  });

  it('grants a greedy {proxy+} route as a wildcard', () => {
    const arn = 'arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/GET/files/a/b';
    expect(grantedResources(arn, ['files:read'], { 'GET /files/{path+}': 'files:read' })).toEqual([
      'arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/GET/files/*',
    ]);
  });

  it.each([
    ['GET /orders', undefined],
    ['GET /', undefined],
    ['POST /orders/{id}/refund', undefined],
    ['GET /files/{path+}', undefined],
    ['ANY /orders', 'method must be one of'],
    ['get /orders', 'method must be one of'],
    ['GET orders', 'must be "METHOD /path"'],
    ['GET /{path+}/more', 'greedy'],
    ['GET /a b', 'must be "METHOD /path"'],
    ['GET /a/{b-c}', 'neither a literal nor a {param}'],
  ])('route key %j: %s', (route, problem) => {
    const found = routeKeyProblem(route);
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toContain(problem);
  });

  it('checks a definition: own modules only, defined once, every route needs a known scope', () => {
    const base = {
      owner: 'team',
      organization_id: 'o',
      environment: null,
      accounts: ['111122223333'],
    } as const;
    const scope = (s: `${string}:${'read' | 'write'}`) => ({
      scope: s,
      module: s.split(':')[0] as string,
      permission: s.split(':')[1] as 'read',
      description: 'd',
      risk_level: 'low' as const,
    });
    expect(
      definitionProblems({
        ...base,
        scopes: [scope('orders:read')],
        routes: { 'GET /o': 'orders:read', 'GET /m': 'metrics:read' },
      }),
    ).toEqual([]);
    expect(
      definitionProblems({
        ...base,
        scopes: [scope('agents:read'), scope('orders:read'), scope('orders:read')],
        routes: { 'POST /o': 'orders:write' },
      }).map((p) => p.field),
    ).toEqual(['scopes.0.scope', 'scopes.2.scope', 'routes.POST /o']);
  });

  it('decides a scope instead of a route when asked to (verify with a scope)', () => {
    const { token, secret } = (() => {
      const id = newKeyId();
      const s = newSecret();
      return { token: parseToken(formatToken('production', id, s)), secret: s };
    })();
    if (!token) throw new Error('bad token');
    const now = new Date();
    const key = {
      id: token.id,
      kind: 'api_key',
      name: 'k',
      key_prefix: token.prefix,
      environment: 'production',
      key_type: 'workspace',
      organization_id: 'o',
      scopes: ['orders:admin'],
      status: 'active',
      created_by: 'me',
      created_at: now.toISOString(),
      created_sort: now.toISOString(),
      updated_at: now.toISOString(),
      secret_hash: hashSecret(secret),
      version: 1,
      last_change: { principal: 'me', kind: 'created', at: now.toISOString() },
    } as ApiKeyItem;
    const facts = { routeKey: '', sourceIp: undefined, now, apiEnvironment: undefined, routeScopes: {} };
    expect(decide(token, key, { ...facts, scope: 'orders:write' }).effect).toBe('allow');
    expect(decide(token, key, { ...facts, scope: 'refunds:read' })).toMatchObject({
      effect: 'deny',
      reason: 'scope_missing',
    });
  });
});

describe('the one table of outcome codes (docs/authorizer.md)', () => {
  it('has every reason the authorizer refuses for, plus allowed and store_unavailable', () => {
    expect([...OUTCOME_CODES].sort()).toEqual(['allowed', 'store_unavailable', ...REFUSAL_REASONS].sort());
  });

  it('tells the same reasons the limits and the cool-down refuse for, and gives each code one status', () => {
    expect([...TOLD_REASONS].sort()).toEqual([...LIMIT_REASONS, COOL_DOWN_REASON].sort());
    for (const code of OUTCOME_CODES) {
      const status = outcomeStatus(code);
      if (code === 'allowed') expect(status).toBe(200);
      else if ((UNAUTHORIZED_REASONS as readonly string[]).includes(code) || code === 'store_unavailable') {
        expect([code, status]).toEqual([code, 401]);
      } else expect([code, status]).toEqual([code, 403]);
    }
  });
});
