/**
 * The registry's aggregates (docs/analytics.md): what each key counts towards, how a change moves
 * the counts, and how counts become the overview. Pure: no AWS, no I/O.
 *
 * A key contributes `1` to a set of named counters ("dims") in each of its partitions (`all`, and
 * `org#<organization>`). Its effective status is time-based (`expired` needs no write at expiry), so
 * a key that can expire also counts, by its expiry day, in a second set: the counters it stops
 * holding once expired. The overview subtracts what has expired by now (`summarize`).
 */
import type { ApiKeyItem, StoredStatus } from './api-key';
import { ALL_PARTITION, organizationPartition } from './partitions';
import { type RiskLevel, scopeCatalog } from './scopes';
import { ENVIRONMENTS, type Environment } from './token';

/** What one key version counts towards; stored per key so the next change knows what to take back. */
export interface KeyContribution {
  readonly version: number;
  readonly partitions: readonly string[];
  readonly dims: readonly string[];
  /** When the key can expire (not revoked, has `expires_at`): the dims it stops holding at `at`. */
  readonly expiring?: { readonly at: string; readonly dims: readonly string[] };
}

type Counted = Pick<
  ApiKeyItem,
  'version' | 'status' | 'environment' | 'organization_id' | 'scopes' | 'expires_at'
>;

const dim = {
  total: 'total',
  status: (s: StoredStatus) => `status:${s}`,
  env: (e: string, s: StoredStatus) => `env:${e}:${s}`,
  module: (m: string) => `module:${m}`,
  scope: (s: string) => `scope:${s}`,
};

function moduleOf(scope: string): string {
  return scope.slice(0, scope.indexOf(':'));
}

/**
 * The counters a key version holds. Modules and scopes count only keys that may be used (stored
 * status `active`), since that is what "keys with access to this module" means to an owner.
 */
export function contributionOf(item: Counted): KeyContribution {
  const timed: string[] = [];
  if (item.status !== 'revoked') {
    timed.push(dim.status(item.status), dim.env(item.environment, item.status));
    if (item.status === 'active') {
      const scopes = [...new Set(item.scopes)].sort();
      timed.push(...[...new Set(scopes.map(moduleOf))].map(dim.module), ...scopes.map(dim.scope));
    }
  }
  const dims =
    item.status === 'revoked'
      ? [dim.total, dim.status('revoked'), dim.env(item.environment, 'revoked')]
      : [dim.total, ...timed];
  return {
    version: item.version,
    partitions: [ALL_PARTITION, organizationPartition(item.organization_id)],
    dims,
    ...(item.status !== 'revoked' && item.expires_at
      ? { expiring: { at: item.expires_at, dims: timed } }
      : {}),
  };
}

/** Counter changes to one aggregate item: `{ dim: +1 | -1 }`, zeros left out. */
export type Counts = Readonly<Record<string, number>>;

export type StatsTarget =
  | { readonly kind: 'totals'; readonly partition: string }
  | { readonly kind: 'expiry_day'; readonly partition: string; readonly day: string };

/** One key's row in its expiry day: lets today's expiries be counted to the millisecond. */
export interface ExpiryRow {
  readonly keyId: string;
  readonly at: string;
  readonly partitions: readonly string[];
  readonly dims: readonly string[];
  /** False: the row no longer counts (the key changed); rows are never deleted, they expire by TTL. */
  readonly counted: boolean;
}

export interface StatsChange {
  readonly counters: readonly { readonly target: StatsTarget; readonly add: Counts }[];
  readonly rows: readonly ExpiryRow[];
}

function targetId(t: StatsTarget): string {
  return t.kind === 'totals' ? `${t.partition}|T` : `${t.partition}|E|${t.day}`;
}

function addAll(
  into: Map<string, { target: StatsTarget; add: Record<string, number> }>,
  target: StatsTarget,
  dims: readonly string[],
  sign: 1 | -1,
): void {
  const id = targetId(target);
  let slot = into.get(id);
  if (!slot) {
    slot = { target, add: {} };
    into.set(id, slot);
  }
  for (const d of dims) slot.add[d] = (slot.add[d] ?? 0) + sign;
}

/** Net counter deltas per aggregate item; items whose deltas are all zero are left out. */
function counterChanges(
  before: KeyContribution | undefined,
  after: KeyContribution | undefined,
): StatsChange['counters'] {
  const counters = new Map<string, { target: StatsTarget; add: Record<string, number> }>();
  const apply = (c: KeyContribution | undefined, sign: 1 | -1) => {
    if (!c) return;
    for (const partition of c.partitions) {
      addAll(counters, { kind: 'totals', partition }, c.dims, sign);
      if (c.expiring) {
        addAll(
          counters,
          { kind: 'expiry_day', partition, day: c.expiring.at.slice(0, 10) },
          c.expiring.dims,
          sign,
        );
      }
    }
  };
  apply(before, -1);
  apply(after, 1);
  const nonZero = [...counters.values()]
    .map(({ target, add }) => ({
      target,
      add: Object.fromEntries(Object.entries(add).filter(([, n]) => n !== 0)),
    }))
    .filter((c) => Object.keys(c.add).length > 0);
  return nonZero;
}

/**
 * What changing key `keyId` from `before` (what was counted, if anything) to `after` does to the
 * aggregates: counter deltas, and its expiry rows (the old one retracted, the new one counted).
 * Applying it to counts that held `before` gives counts that hold `after`.
 */
export function keyStatsChange(
  keyId: string,
  before: KeyContribution | undefined,
  after: KeyContribution | undefined,
): StatsChange {
  const counters = counterChanges(before, after);
  const rows: ExpiryRow[] = [];
  const row = (c: KeyContribution, counted: boolean): ExpiryRow | undefined =>
    c.expiring
      ? { keyId, at: c.expiring.at, partitions: c.partitions, dims: c.expiring.dims, counted }
      : undefined;
  const next = after && row(after, true);
  const previous = before && row(before, false);
  if (previous && !(next && next.at === previous.at)) rows.push(previous);
  if (next && !sameRow(next, before && row(before, true))) rows.push(next);
  return { counters, rows };
}

function sameRow(a: ExpiryRow, b: ExpiryRow | undefined): boolean {
  return (
    b !== undefined &&
    a.at === b.at &&
    a.partitions.join(',') === b.partitions.join(',') &&
    a.dims.join(',') === b.dims.join(',')
  );
}

// ---- Reading: counts → overview ------------------------------------------------------------------

export interface StatusCounts {
  total: number;
  active: number;
  disabled: number;
  expired: number;
  revoked: number;
}

export interface ModuleSummary {
  readonly module: string;
  /** Usable keys (active, not expired) holding at least one scope of the module. */
  readonly key_count: number;
  /** The highest risk level among the module's scopes that usable keys hold; null when none does. */
  readonly risk_level: RiskLevel | null;
  /** When a request to a route needing one of the module's scopes was last allowed (to the minute). */
  readonly last_used_at: string | null;
  readonly scopes: readonly { scope: string; key_count: number; risk_level: RiskLevel }[];
}

export interface RegistrySummary {
  readonly keys: StatusCounts;
  readonly by_environment: Readonly<Record<Environment, StatusCounts>>;
  readonly by_module: readonly ModuleSummary[];
}

const RISK_ORDER: readonly RiskLevel[] = ['low', 'medium', 'high', 'critical'];

/** Sums expiry-day buckets and rows into "what has expired by now", per dim. */
export function expiredCounts(
  dayBuckets: readonly Counts[],
  todayRows: readonly Pick<ExpiryRow, 'dims' | 'counted'>[],
): Counts {
  const out: Record<string, number> = {};
  for (const bucket of dayBuckets) for (const [d, n] of Object.entries(bucket)) out[d] = (out[d] ?? 0) + n;
  for (const row of todayRows) if (row.counted) for (const d of row.dims) out[d] = (out[d] ?? 0) + 1;
  return out;
}

/**
 * The overview's key figures from a partition's totals and what has expired by now. `lastUsed`:
 * module → ISO time. Modules are the catalog's, so a module no key holds still shows with 0.
 */
export function summarize(
  totals: Counts,
  expired: Counts,
  lastUsed: Readonly<Record<string, string>> = {},
): RegistrySummary {
  const t = (d: string) => totals[d] ?? 0;
  const x = (d: string) => expired[d] ?? 0;
  const counts = (status: (s: StoredStatus) => string): StatusCounts => ({
    total: t(status('active')) + t(status('disabled')) + t(status('revoked')),
    active: t(status('active')) - x(status('active')),
    disabled: t(status('disabled')) - x(status('disabled')),
    expired: x(status('active')) + x(status('disabled')),
    revoked: t(status('revoked')),
  });
  const keys = { ...counts(dim.status), total: t(dim.total) };
  const by_environment = Object.fromEntries(
    ENVIRONMENTS.map((e) => [e, counts((s) => dim.env(e, s))]),
  ) as Record<Environment, StatusCounts>;
  const modules = [...new Set(scopeCatalog.map((e) => e.module))];
  const by_module = modules.map((module): ModuleSummary => {
    const scopes = scopeCatalog
      .filter((e) => e.module === module)
      .map((e) => ({
        scope: e.scope,
        key_count: t(dim.scope(e.scope)) - x(dim.scope(e.scope)),
        risk_level: e.risk_level,
      }));
    const held = scopes.filter((s) => s.key_count > 0).map((s) => RISK_ORDER.indexOf(s.risk_level));
    return {
      module,
      key_count: t(dim.module(module)) - x(dim.module(module)),
      risk_level: held.length ? (RISK_ORDER[Math.max(...held)] ?? null) : null,
      last_used_at: lastUsed[module] ?? null,
      scopes,
    };
  });
  return { keys, by_environment, by_module };
}
