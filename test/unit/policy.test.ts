/**
 * The policy engine (functions/domain/policy.ts, docs/tenancy.md#policy-rules), pure: each kind of
 * rule with a request it refuses and one it lets through.
 */
import {
  builtInRules,
  evaluatePolicy,
  insideWindow,
  type PolicyFacts,
  type SourcedRule,
  wallClock,
} from '../../functions/domain/policy';

const facts = (over: Partial<PolicyFacts> = {}): PolicyFacts => ({
  action: 'api_key:create',
  role: 'org_owner',
  organization_id: 'acme',
  environment: 'development',
  key_type: 'workspace',
  scopes: ['agents:read'],
  source_ip: '10.1.2.3',
  elevated: false,
  now: new Date('2026-01-14T10:00:00Z'),
  ...over,
});

const rule = (over: Partial<SourcedRule>): SourcedRule => ({
  id: 'r',
  source: 'organization',
  effect: 'deny',
  actions: ['api_key:create'],
  when: {},
  ...over,
});

const deniedBy = (rules: SourcedRule[], f: PolicyFacts) => evaluatePolicy(rules, f).denied?.id;

describe('business hours in a time zone', () => {
  // Deny creation outside Monday–Friday 09:00–18:00, Paris time.
  const hours = rule({
    id: 'business-hours',
    when: {
      time: {
        time_zone: 'Europe/Paris',
        days: ['mon', 'tue', 'wed', 'thu', 'fri'],
        from: '09:00',
        to: '18:00',
        match: 'outside',
      },
    },
  });

  it('lets a request inside the window through, and refuses one after it (winter, UTC+1)', () => {
    // Wednesday 14 January 2026: 08:30 UTC is 09:30 in Paris, 17:30 UTC is 18:30.
    expect(deniedBy([hours], facts({ now: new Date('2026-01-14T08:30:00Z') }))).toBeUndefined();
    expect(deniedBy([hours], facts({ now: new Date('2026-01-14T17:30:00Z') }))).toBe('business-hours');
  });

  it('refuses on a weekend, whatever the hour', () => {
    // Saturday 17 January 2026, 11:00 in Paris.
    expect(deniedBy([hours], facts({ now: new Date('2026-01-17T10:00:00Z') }))).toBe('business-hours');
  });

  it('follows the wall clock across the DST change: the same UTC hour is outside, then inside', () => {
    // Paris moves to UTC+2 on Sunday 29 March 2026. 07:30 UTC is 08:30 on Friday the 27th (refused)
    // and 09:30 on Monday the 30th (let through).
    expect(wallClock(new Date('2026-03-27T07:30:00Z'), 'Europe/Paris')).toEqual({
      weekday: 'fri',
      minute: 8 * 60 + 30,
    });
    expect(wallClock(new Date('2026-03-30T07:30:00Z'), 'Europe/Paris')).toEqual({
      weekday: 'mon',
      minute: 9 * 60 + 30,
    });
    expect(deniedBy([hours], facts({ now: new Date('2026-03-27T07:30:00Z') }))).toBe('business-hours');
    expect(deniedBy([hours], facts({ now: new Date('2026-03-30T07:30:00Z') }))).toBeUndefined();
    // And back in October (UTC+1 again from Sunday 25 October): 16:30 UTC is 18:30 on Friday the
    // 23rd (refused) and 17:30 on Monday the 26th (let through).
    expect(deniedBy([hours], facts({ now: new Date('2026-10-23T16:30:00Z') }))).toBe('business-hours');
    expect(deniedBy([hours], facts({ now: new Date('2026-10-26T16:30:00Z') }))).toBeUndefined();
  });

  it('reads a window that spans midnight as starting on its day', () => {
    const night = { time_zone: 'America/New_York', days: ['fri' as const], from: '22:00', to: '06:00' };
    // Friday 23:00 and Saturday 05:00 in New York are in Friday's window; Saturday 23:00 is not.
    expect(insideWindow(night, new Date('2026-01-17T04:00:00Z'))).toBe(true);
    expect(insideWindow(night, new Date('2026-01-17T10:00:00Z'))).toBe(true);
    expect(insideWindow(night, new Date('2026-01-18T04:00:00Z'))).toBe(false);
  });
});

describe('source IP ranges', () => {
  const office = rule({
    id: 'office-only',
    actions: ['api_key:*'],
    when: { source_ip: { cidrs: ['10.0.0.0/8', '2001:db8::/32'], match: 'outside' } },
  });

  it('lets requests from the ranges through and refuses the others', () => {
    expect(deniedBy([office], facts({ source_ip: '10.1.2.3' }))).toBeUndefined();
    expect(deniedBy([office], facts({ source_ip: '2001:db8::7' }))).toBeUndefined();
    expect(deniedBy([office], facts({ source_ip: '203.0.113.9' }))).toBe('office-only');
  });

  it('refuses a request whose source IP is unknown (fail closed)', () => {
    expect(deniedBy([office], facts({ source_ip: undefined }))).toBe('office-only');
  });
});

describe('system:* for org owners', () => {
  const noSystem = rule({
    id: 'no-system-for-owners',
    when: { roles: ['org_owner'], scopes: ['system:*'] },
  });

  it('refuses an org owner asking for a system scope, not another scope nor another role', () => {
    expect(deniedBy([noSystem], facts({ scopes: ['agents:read', 'system:admin'] }))).toBe(
      'no-system-for-owners',
    );
    expect(deniedBy([noSystem], facts({ scopes: ['agents:read'] }))).toBeUndefined();
    expect(deniedBy([noSystem], facts({ role: 'super_admin', scopes: ['system:admin'] }))).toBeUndefined();
  });
});

describe('built-in: production keys need an expiry', () => {
  const rules = builtInRules({
    production_expiry: { enabled: true, max_days: 30 },
    execute_requires_elevation: { enabled: false },
  });
  const now = new Date('2026-01-14T10:00:00Z');
  const inDays = (d: number) => new Date(now.getTime() + d * 86_400_000).toISOString();

  it('refuses a production key with no expiry or one too far away', () => {
    expect(deniedBy(rules, facts({ now, environment: 'production', expires_at: null }))).toBe(
      'built_in:production_expiry',
    );
    expect(deniedBy(rules, facts({ now, environment: 'production', expires_at: inDays(31) }))).toBe(
      'built_in:production_expiry',
    );
  });

  it('lets through a production key expiring in time, other environments, and changes that set no expiry', () => {
    expect(
      deniedBy(rules, facts({ now, environment: 'production', expires_at: inDays(30) })),
    ).toBeUndefined();
    expect(deniedBy(rules, facts({ now, environment: 'development', expires_at: null }))).toBeUndefined();
    expect(
      deniedBy(rules, facts({ now, action: 'api_key:update', environment: 'production' })),
    ).toBeUndefined();
  });

  it('is off unless switched on', () => {
    expect(
      builtInRules({
        production_expiry: { enabled: false, max_days: 30 },
        execute_requires_elevation: { enabled: false },
      }),
    ).toEqual([]);
  });
});

describe('built-in: execute permission needs an elevation', () => {
  const rules = builtInRules({
    production_expiry: { enabled: false, max_days: 90 },
    execute_requires_elevation: { enabled: true },
  });

  it('refuses execute (or admin, which implies it) without an elevation, and lets it through with one', () => {
    expect(deniedBy(rules, facts({ scopes: ['agents:execute'] }))).toBe(
      'built_in:execute_requires_elevation',
    );
    expect(deniedBy(rules, facts({ scopes: ['agents:admin'] }))).toBe('built_in:execute_requires_elevation');
    expect(deniedBy(rules, facts({ scopes: ['agents:execute'], elevated: true }))).toBeUndefined();
    expect(deniedBy(rules, facts({ scopes: ['agents:read'] }))).toBeUndefined();
  });
});

describe('warn rules and order', () => {
  const warn = rule({ id: 'prod-warning', effect: 'warn', when: { environments: ['production'] } });
  const deny = rule({
    id: 'no-prod-sandbox',
    when: { environments: ['production'], key_types: ['organization'] },
  });

  it('lets a request through with the warning, and without it when the rule does not match', () => {
    const warned = evaluatePolicy([warn], facts({ environment: 'production' }));
    expect(warned.denied).toBeUndefined();
    expect(warned.warnings.map((r) => r.id)).toEqual(['prod-warning']);
    expect(evaluatePolicy([warn], facts({ environment: 'staging' })).warnings).toEqual([]);
  });

  it('deny overrides: the first matching deny refuses, whatever warns or comes after', () => {
    const second = rule({ id: 'second', when: {} });
    const out = evaluatePolicy(
      [warn, deny, second],
      facts({ environment: 'production', key_type: 'organization' }),
    );
    expect(out.denied?.id).toBe('no-prod-sandbox');
  });

  it('matches actions exactly, by resource (`api_key:*`) or all (`*`)', () => {
    const on = (actions: string[]) =>
      deniedBy([rule({ id: 'a', actions })], facts({ action: 'api_key:rotate' }));
    expect(on(['api_key:rotate'])).toBe('a');
    expect(on(['api_key:*'])).toBe('a');
    expect(on(['*'])).toBe('a');
    expect(on(['api_key:create', 'binding:*'])).toBeUndefined();
  });

  it('conditions on organization and elevation', () => {
    const acmeOnly = rule({ id: 'acme', when: { organizations: ['acme'], elevated: false } });
    expect(deniedBy([acmeOnly], facts())).toBe('acme');
    expect(deniedBy([acmeOnly], facts({ organization_id: 'beta' }))).toBeUndefined();
    expect(deniedBy([acmeOnly], facts({ elevated: true }))).toBeUndefined();
  });
});
