/**
 * The overview's aggregates as pure rules (functions/domain/key-stats.ts): after any sequence of
 * creates, changes and revokes, applying each change's deltas gives counts from which `summarize`
 * reports exactly what counting every key's effective status at that instant gives, at any instant.
 * And the CSV export's cell rules.
 */
import fc from 'fast-check';
import { type ApiKeyItem, effectiveStatus } from '../../functions/domain/api-key';
import { csvCell, toCsv } from '../../functions/domain/csv';
import {
  type Counts,
  contributionOf,
  type ExpiryRow,
  expiredCounts,
  type KeyContribution,
  keyStatsChange,
  summarize,
} from '../../functions/domain/key-stats';
import { ENVIRONMENTS } from '../../functions/domain/token';

const DAY = 86_400_000;
const START = Date.parse('2030-01-10T00:00:00.000Z');
const SCOPES = ['agents:read', 'agents:write', 'agents:admin', 'metrics:read', 'deployments:write'];

type Key = Pick<
  ApiKeyItem,
  'id' | 'version' | 'status' | 'environment' | 'organization_id' | 'scopes' | 'expires_at'
>;

/** An instant within a few days of START, at a random millisecond. */
const instant = fc.integer({ min: -3 * DAY, max: 4 * DAY }).map((ms) => new Date(START + ms).toISOString());
const fields = fc.record({
  status: fc.constantFrom('active' as const, 'disabled' as const),
  environment: fc.constantFrom(...ENVIRONMENTS),
  organization_id: fc.constantFrom('acme', 'globex'),
  scopes: fc.subarray(SCOPES, { minLength: 1 }),
  expires_at: fc.option(instant, { nil: undefined }),
});
const op = fc.oneof(
  fields.map((f) => ({ kind: 'create' as const, ...f })),
  fc.record({ kind: fc.constant('patch' as const), target: fc.nat(), change: fields }),
  fc.record({ kind: fc.constant('revoke' as const), target: fc.nat() }),
);

/** The aggregate store, as the repository keeps it, in memory. */
class Store {
  readonly items = new Map<string, Record<string, number>>();
  readonly rows = new Map<string, ExpiryRow>();
  readonly contributions = new Map<string, KeyContribution | undefined>();

  apply(keyId: string, after: KeyContribution | undefined): void {
    const change = keyStatsChange(keyId, this.contributions.get(keyId), after);
    for (const { target, add } of change.counters) {
      const id = target.kind === 'totals' ? `${target.partition}|T` : `${target.partition}|E|${target.day}`;
      const item = this.items.get(id) ?? {};
      for (const [d, n] of Object.entries(add)) item[d] = (item[d] ?? 0) + n;
      this.items.set(id, item);
    }
    for (const row of change.rows) this.rows.set(`${row.at}#${row.keyId}`, row);
    this.contributions.set(keyId, after);
  }

  /** What the overview reads for `partition` at `now`. */
  summary(partition: string, now: Date) {
    const today = now.toISOString().slice(0, 10);
    const buckets: Counts[] = [];
    for (const [id, item] of this.items) {
      const [p, kind, day] = id.split('|');
      if (p === partition && kind === 'E' && day !== undefined && day < today) buckets.push(item);
    }
    const rows = [...this.rows.entries()]
      .filter(
        ([sk, r]) =>
          r.at.slice(0, 10) === today && sk <= `${now.toISOString()}#~` && r.partitions.includes(partition),
      )
      .map(([, r]) => r);
    return summarize(this.items.get(`${partition}|T`) ?? {}, expiredCounts(buckets, rows));
  }
}

/** The same figures by looking at every key. */
function bruteForce(keys: readonly Key[], now: Date) {
  const blank = () => ({ total: 0, active: 0, disabled: 0, expired: 0, revoked: 0 });
  const keysCounts = blank();
  const byEnv = Object.fromEntries(ENVIRONMENTS.map((e) => [e, blank()]));
  const modules: Record<string, number> = {};
  const scopes: Record<string, number> = {};
  for (const k of keys) {
    const status = effectiveStatus(k, now);
    keysCounts.total++;
    keysCounts[status]++;
    const env = byEnv[k.environment] ?? blank();
    env.total++;
    env[status]++;
    if (status === 'active') {
      for (const m of new Set(k.scopes.map((s) => s.split(':')[0] ?? ''))) modules[m] = (modules[m] ?? 0) + 1;
      for (const s of new Set(k.scopes)) scopes[s] = (scopes[s] ?? 0) + 1;
    }
  }
  return { keys: keysCounts, by_environment: byEnv, modules, scopes };
}

describe('registry aggregates', () => {
  it('summarize(deltas) equals counting every key, at any instant, per partition', () => {
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 25 }),
        fc.array(instant, { minLength: 1, maxLength: 5 }),
        (ops, nows) => {
          const keys: Key[] = [];
          const store = new Store();
          for (const o of ops) {
            let key: Key | undefined;
            if (o.kind === 'create') {
              const { kind: _, ...f } = o;
              key = { id: `k${keys.length}`, version: 1, ...f };
              keys.push(key);
            } else if (keys.length) {
              const i = o.target % keys.length;
              const k = keys[i] as Key;
              // A revoked key cannot change, as the service refuses it.
              if (k.status === 'revoked') continue;
              key =
                o.kind === 'revoke'
                  ? { ...k, version: k.version + 1, status: 'revoked' }
                  : { ...k, ...o.change, organization_id: k.organization_id, version: k.version + 1 };
              keys[i] = key;
            }
            if (key) store.apply(key.id, contributionOf(key));
          }
          for (const iso of nows) {
            const now = new Date(iso);
            for (const [partition, members] of [
              ['all', keys],
              ['org#acme', keys.filter((k) => k.organization_id === 'acme')],
            ] as const) {
              const got = store.summary(partition, now);
              const want = bruteForce(members, now);
              expect(got.keys).toEqual(want.keys);
              expect(got.by_environment).toEqual(want.by_environment);
              for (const m of got.by_module) {
                expect(m.key_count).toBe(want.modules[m.module] ?? 0);
                for (const s of m.scopes) expect(s.key_count).toBe(want.scopes[s.scope] ?? 0);
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives a module the highest risk level among the scopes usable keys hold', () => {
    const store = new Store();
    store.apply(
      'a',
      contributionOf({
        version: 1,
        status: 'active',
        environment: 'production',
        organization_id: 'o',
        scopes: ['agents:read'],
      }),
    );
    store.apply(
      'b',
      contributionOf({
        version: 1,
        status: 'disabled',
        environment: 'production',
        organization_id: 'o',
        scopes: ['agents:admin'],
      }),
    );
    const agents = store.summary('all', new Date(START)).by_module.find((m) => m.module === 'agents');
    expect(agents).toMatchObject({ key_count: 1, risk_level: 'low', last_used_at: null });
    const metrics = store.summary('all', new Date(START)).by_module.find((m) => m.module === 'metrics');
    expect(metrics).toMatchObject({ key_count: 0, risk_level: null });
  });
});

describe('CSV export cells', () => {
  it('defuses formulas: cells starting with = + - @ tab or CR get a leading quote', () => {
    for (const bad of ['=1+1', '+SUM(A1)', '-2', '@cmd', '\tx', '\rx', '=HYPERLINK("http://e.vil","x")']) {
      expect(csvCell(bad).replace(/^"/, '').startsWith("'")).toBe(true);
    }
    expect(csvCell('=HYPERLINK("http://e.vil","x")')).toBe('"\'=HYPERLINK(""http://e.vil"",""x"")"');
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a=b')).toBe('a=b');
    expect(csvCell(null)).toBe('');
  });

  it('quotes commas, quotes and line breaks (RFC 4180) and ends records with CRLF', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', 'line 1\nline 2'],
          ['say "hi"', 3],
        ],
      ),
    ).toBe('a,b\r\n"x,y","line 1\nline 2"\r\n"say ""hi""",3\r\n');
  });

  it('never lets a cell start a formula or break out of its field', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const cell = csvCell(s);
        const inner = cell.startsWith('"') ? cell.slice(1, -1).replace(/""/g, '"') : cell;
        expect(/^[=+\-@\t\r]/.test(inner)).toBe(false);
        if (!cell.startsWith('"')) expect(/[",\r\n]/.test(cell)).toBe(false);
        else expect(cell.slice(1, -1).replace(/""/g, '')).not.toContain('"');
      }),
    );
  });
});
