/**
 * The policy engine (docs/tenancy.md#policy-rules): ordered rules as data, each naming actions, an
 * effect (`deny` or `warn`) and conditions on the request. Deny overrides allow: the role matrix
 * (`access.ts`) allows, and any matching `deny` rule refuses, naming the first one that matched;
 * matching `warn` rules let the request through and are returned as warnings. Pure: time zones
 * through `Intl.DateTimeFormat`, IP ranges through `ip-allowlist.ts`.
 */
import type { Role } from './access';
import type { KeyType } from './api-key';
import { ipAllowed } from './ip-match';
import type { Environment } from './token';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export type Effect = 'deny' | 'warn';

/** A weekly window in an IANA time zone; `from` > `to` spans midnight (the day is the one it starts). */
export interface TimeCondition {
  readonly time_zone: string;
  /** Default: every day. */
  readonly days?: readonly Weekday[] | undefined;
  /** `HH:MM`, inclusive. */
  readonly from: string;
  /** `HH:MM`, exclusive. */
  readonly to: string;
  /** Match requests made inside the window, or outside it. */
  readonly match: 'inside' | 'outside';
}

export interface IpCondition {
  readonly cidrs: readonly string[];
  /** Match requests from inside the ranges, or from outside them (an unknown source IP is outside). */
  readonly match: 'inside' | 'outside';
}

/** All given conditions must hold for the rule to match; an absent one always holds. */
export interface Conditions {
  readonly roles?: readonly Role[] | undefined;
  /** Patterns (`system:*`, `*:execute`); holds when any scope of the request matches any pattern. */
  readonly scopes?: readonly string[] | undefined;
  readonly environments?: readonly Environment[] | undefined;
  readonly key_types?: readonly KeyType[] | undefined;
  readonly organizations?: readonly string[] | undefined;
  readonly time?: TimeCondition | undefined;
  readonly source_ip?: IpCondition | undefined;
  /** Whether the caller has root mode open (the one MFA fact the backend can trust). */
  readonly elevated?: boolean | undefined;
  /** Holds when the request sets an expiry more than this many days away, or none at all. */
  readonly expires_beyond_days?: number | undefined;
}

export interface PolicyRule {
  readonly id: string;
  readonly description?: string | undefined;
  readonly effect: Effect;
  /** Actions (`api_key:create`), `<resource>:*`, or `*`. */
  readonly actions: readonly string[];
  readonly when: Conditions;
}

/** Where a rule comes from, in evaluation order. */
export type RuleSource = 'deploy' | 'built_in' | 'organization';
export interface SourcedRule extends PolicyRule {
  readonly source: RuleSource;
}

/** What the engine knows about one request. */
export interface PolicyFacts {
  readonly action: string;
  /** The caller's highest role for the target's organization (`null`: none there). */
  readonly role: Role | null;
  readonly organization_id?: string | undefined;
  readonly environment?: Environment | undefined;
  readonly key_type?: KeyType | undefined;
  /**
   * Create: the scopes asked for. Update: the scopes it sets (none when it sets none). Other key
   * actions: the key's scopes.
   */
  readonly scopes: readonly string[];
  /** The expiry the request sets (`null`: none); absent when the request sets no expiry. */
  readonly expires_at?: string | null | undefined;
  readonly source_ip?: string | undefined;
  readonly elevated: boolean;
  readonly now: Date;
}

export interface PolicyOutcome {
  /** The first matching `deny` rule, in order. */
  readonly denied?: SourcedRule;
  readonly warnings: readonly SourcedRule[];
}

const DAY_MS = 86_400_000;

function wildcard(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(value);
}

export function actionMatches(patterns: readonly string[], action: string): boolean {
  return patterns.some((p) => wildcard(p, action));
}

export function scopesMatch(patterns: readonly string[], scopes: readonly string[]): boolean {
  return scopes.some((s) => patterns.some((p) => wildcard(p, s)));
}

/** Whether `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

const WEEKDAY_BY_SHORT: Readonly<Record<string, Weekday>> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

/** The weekday and minute of the day at `now` in `zone` (DST included: it is the zone's wall clock). */
export function wallClock(now: Date, zone: string): { weekday: Weekday; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const weekday = WEEKDAY_BY_SHORT[part('weekday')];
  if (!weekday) throw new Error(`no weekday for ${zone}`);
  return { weekday, minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

export const CLOCK_TIME = /^([01]\d|2[0-3]):[0-5]\d$/;
const minuteOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const PREVIOUS_DAY: Readonly<Record<Weekday, Weekday>> = {
  mon: 'sun',
  tue: 'mon',
  wed: 'tue',
  thu: 'wed',
  fri: 'thu',
  sat: 'fri',
  sun: 'sat',
};

export function insideWindow(window: Omit<TimeCondition, 'match'>, now: Date): boolean {
  const { weekday, minute } = wallClock(now, window.time_zone);
  const from = minuteOf(window.from);
  const to = minuteOf(window.to);
  const onDay = (d: Weekday) => !window.days || window.days.includes(d);
  if (from < to) return onDay(weekday) && minute >= from && minute < to;
  // Spans midnight: the evening part belongs to today, the morning part to the day before.
  return (minute >= from && onDay(weekday)) || (minute < to && onDay(PREVIOUS_DAY[weekday]));
}

function conditionsHold(when: Conditions, f: PolicyFacts): boolean {
  if (when.roles && !(f.role !== null && when.roles.includes(f.role))) return false;
  if (when.scopes && !scopesMatch(when.scopes, f.scopes)) return false;
  if (when.environments && !(f.environment && when.environments.includes(f.environment))) return false;
  if (when.key_types && !(f.key_type && when.key_types.includes(f.key_type))) return false;
  if (when.organizations && !(f.organization_id && when.organizations.includes(f.organization_id)))
    return false;
  if (when.elevated !== undefined && when.elevated !== f.elevated) return false;
  if (when.time && insideWindow(when.time, f.now) !== (when.time.match === 'inside')) return false;
  if (when.source_ip) {
    const inside = f.source_ip !== undefined && ipAllowed(f.source_ip, when.source_ip.cidrs);
    if (inside !== (when.source_ip.match === 'inside')) return false;
  }
  if (when.expires_beyond_days !== undefined) {
    if (f.expires_at === undefined) return false;
    const limit = f.now.getTime() + when.expires_beyond_days * DAY_MS;
    if (f.expires_at !== null && Date.parse(f.expires_at) <= limit) return false;
  }
  return true;
}

export function ruleMatches(rule: PolicyRule, facts: PolicyFacts): boolean {
  return actionMatches(rule.actions, facts.action) && conditionsHold(rule.when, facts);
}

/** Every rule in order: the first matching `deny` refuses; every matching `warn` is reported. */
export function evaluatePolicy(rules: readonly SourcedRule[], facts: PolicyFacts): PolicyOutcome {
  const warnings: SourcedRule[] = [];
  for (const rule of rules) {
    if (!ruleMatches(rule, facts)) continue;
    if (rule.effect === 'deny') return { denied: rule, warnings };
    warnings.push(rule);
  }
  return { warnings };
}

// ---- Built-in organization policies (docs/tenancy.md#built-in-organization-policies) ---------------

/** What an organization switches on; the two invariants are shown, never switched off. */
export interface BuiltInPolicies {
  readonly production_expiry: { readonly enabled: boolean; readonly max_days: number };
  readonly execute_requires_elevation: { readonly enabled: boolean };
}

export const DEFAULT_BUILT_INS: BuiltInPolicies = {
  production_expiry: { enabled: false, max_days: 90 },
  execute_requires_elevation: { enabled: false },
};

export const BUILT_IN_RULE_IDS = {
  production_expiry: 'built_in:production_expiry',
  execute_requires_elevation: 'built_in:execute_requires_elevation',
  revoked_keys_final: 'built_in:revoked_keys_final',
  rotation_history: 'built_in:rotation_history',
} as const;

/** The switchable built-ins that are on, as rules the engine evaluates. */
export function builtInRules(p: BuiltInPolicies): SourcedRule[] {
  const rules: SourcedRule[] = [];
  if (p.production_expiry.enabled) {
    rules.push({
      id: BUILT_IN_RULE_IDS.production_expiry,
      source: 'built_in',
      description: `Production keys need an expiry at most ${p.production_expiry.max_days} days away.`,
      effect: 'deny',
      actions: ['api_key:create', 'api_key:update'],
      when: { environments: ['production'], expires_beyond_days: p.production_expiry.max_days },
    });
  }
  if (p.execute_requires_elevation.enabled) {
    rules.push({
      id: BUILT_IN_RULE_IDS.execute_requires_elevation,
      source: 'built_in',
      description: 'Granting or re-issuing execute permission needs MFA: an open root-mode elevation.',
      effect: 'deny',
      actions: ['api_key:create', 'api_key:update', 'api_key:rotate'],
      // `admin` implies execute (docs/scopes.md).
      when: { scopes: ['*:execute', '*:admin'], elevated: false },
    });
  }
  return rules;
}

/** The invariants the code enforces whatever the policy says, shown alongside the switchable ones. */
export const LOCKED_BUILT_INS = {
  revoked_keys_final: {
    id: BUILT_IN_RULE_IDS.revoked_keys_final,
    enabled: true,
    locked: true,
    description: 'A revoked key cannot be changed, rotated or restored (409).',
  },
  rotation_history: {
    id: BUILT_IN_RULE_IDS.rotation_history,
    enabled: true,
    locked: true,
    description:
      'Every rotation is an append-only audit entry (admin.api_key_rotated), readable per key at GET /v1/api-keys/{id}/audit.',
  },
} as const;
