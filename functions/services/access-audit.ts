/**
 * What the authorizer records about traffic (docs/audit-and-events.md, docs/authorizer.md), with no
 * write on the allowed path of a key without limits and none per junk refusal:
 *
 * - a refusal of a real key (its secret matched, or the store failed): one `admin.api_key_denied`
 *   entry each, and a count for the key's usage series;
 * - a refusal that identifies no key (junk): counted in memory per source IP and minute, written
 *   as one `admin.api_key_denied_summary` entry once the minute is over; invalid tokens feed the
 *   IP's cool-down, whose start is audited once (`admin.source_ip_cooled_down`);
 * - an allowed request: counted in memory; the key's first allowed request in a minute (per
 *   instance) moves its `last_used_at`, a source IP new to the key in the suspicion window is
 *   recorded (and a key past the threshold is noted for `ApiKeySuspicious`);
 * - once a minute is over, the first request this instance serves writes that minute: per key its
 *   counts (minute and hour items) and the one `admin.api_key_used` entry, per source IP the
 *   summary, and the refusals of the minute to the hourly totals.
 *
 * Kept apart from the stream consumer's code so the authorizer bundle loads only DynamoDB. Never
 * throws: the answer to the caller does not depend on these writes.
 */
import { randomUUID } from 'node:crypto';
import type { ApiKeyItem } from '../domain/api-key';
import { coolDownEntry, denialEntry, refusalSummaryEntry, usedEntry } from '../domain/audit';
import { isGuess, isJunk } from '../domain/source-guard';
import type { ParsedToken } from '../domain/token';
import { putAuditEntry } from '../repositories/audit-repository';
import {
  addKeyMinute,
  addKeySourceIp,
  addSourceMinute,
  type Counts,
  claimCoolDown,
  claimMarker,
  MINUTE_MS,
  markLastUsed,
  noteSuspicion,
  summaryMarkerKey,
  usedMarkerKey,
} from '../repositories/counters-repository';
import { setting } from '../shared/config';
import { logger } from '../shared/light-logger';
import { noteInvalidToken } from './source-guard';

type TrackedKey = Pick<
  ApiKeyItem,
  'id' | 'key_prefix' | 'organization_id' | 'workspace_id' | 'name' | 'environment' | 'key_type'
>;

/** Never throws: logs what failed, by name only. */
async function safely(what: string, work: () => Promise<unknown>, fields: Record<string, unknown> = {}) {
  try {
    await work();
  } catch (error) {
    logger.warn(`Could not ${what}`, { ...fields, error_name: (error as Error).name });
  }
}

/** Where a refused request came from, whichever front door saw it (REST, HTTP API, verify). */
export interface RequestOrigin {
  /** `"<METHOD> <route>"`, or `scope <scope>` for a verify that asked about a scope. */
  readonly route: string;
  /** The registered API the request was for (`default`: Latchkey's own demo routes). */
  readonly api: string;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
}

const userAgentOf = (origin: RequestOrigin) => origin.userAgent?.slice(0, 512) || undefined;

// ---- This instance's tallies for the current minute, and finished minutes not yet written -----------

interface KeyTally {
  readonly kind: 'key';
  readonly key: TrackedKey;
  readonly minute: number;
  readonly counts: Record<string, number>;
  /** Whether this minute's first allowed request already moved `last_used_at`. */
  lastUseMarked: boolean;
}

interface SourceTally {
  readonly kind: 'source';
  readonly ip: string;
  readonly minute: number;
  readonly counts: Record<string, number>;
  readonly routes: Set<string>;
  readonly keyPrefixes: Set<string>;
  userAgent?: string;
}

type Tally = KeyTally | SourceTally;

/** At most this many finished tallies are written per invocation, so no request waits on many. */
const FLUSH_PER_INVOCATION = 25;
/** Source IPs tallied per minute; past it, refusals are tallied under `*` (many sources). */
const MAX_SOURCES_PER_MINUTE = 10_000;
const MAX_ROUTES = 5;
const MAX_PREFIXES = 10;

let currentMinute = Number.NEGATIVE_INFINITY;
let keyTallies = new Map<string, KeyTally>();
let sourceTallies = new Map<string, SourceTally>();
const finished: Tally[] = [];

function rollOver(now: Date): number {
  const minute = Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS;
  if (minute > currentMinute) {
    finished.push(...keyTallies.values(), ...sourceTallies.values());
    keyTallies = new Map();
    sourceTallies = new Map();
    currentMinute = minute;
  }
  return currentMinute;
}

function add(counts: Record<string, number>, name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

function keyTally(key: TrackedKey, now: Date): KeyTally {
  const minute = rollOver(now);
  let t = keyTallies.get(key.id);
  if (!t) {
    t = { kind: 'key', key, minute, counts: {}, lastUseMarked: false };
    keyTallies.set(key.id, t);
  }
  return t;
}

function sourceTally(ip: string, now: Date): SourceTally {
  const minute = rollOver(now);
  let t = sourceTallies.get(ip);
  if (!t) {
    const name = sourceTallies.size >= MAX_SOURCES_PER_MINUTE ? '*' : ip;
    t = sourceTallies.get(name);
    if (!t) {
      t = { kind: 'source', ip: name, minute, counts: {}, routes: new Set(), keyPrefixes: new Set() };
      sourceTallies.set(name, t);
    }
  }
  return t;
}

async function flushFinished(): Promise<void> {
  if (finished.length) await Promise.all(finished.splice(0, FLUSH_PER_INVOCATION).map(flush));
}

function flush(t: Tally): Promise<void> {
  const start = new Date(t.minute);
  switch (t.kind) {
    case 'key':
      return safely(
        'record key use',
        async () => {
          const totals = await addKeyMinute(t.key.id, start, t.counts);
          if (!t.counts.allowed) return;
          const marker = usedMarkerKey(t.key.id, start);
          if (await claimMarker(marker.pk, marker.sk, marker.expiresAt)) {
            await putAuditEntry(usedEntry(t.key, start, totals.allowed ?? t.counts.allowed));
          }
        },
        { key_prefix: t.key.key_prefix },
      );
    case 'source':
      return safely('record refusals from a source IP', async () => {
        const totals = await addSourceMinute(t.ip, start, t.counts);
        const marker = summaryMarkerKey(t.ip, start);
        if (!(await claimMarker(marker.pk, marker.sk, marker.expiresAt))) return;
        const reasons = Object.fromEntries(
          Object.entries(totals)
            .filter(([k]) => k.startsWith('denied_'))
            .map(([k, v]) => [k.slice('denied_'.length), v]),
        );
        await putAuditEntry(
          refusalSummaryEntry({
            sourceIp: t.ip,
            minute: start,
            reasons,
            routes: [...t.routes],
            keyPrefixes: [...t.keyPrefixes],
            ...(t.userAgent ? { userAgent: t.userAgent } : {}),
          }),
        );
        logger.info('Refusals without a key summarised', { source_ip: t.ip, count: sum(t.counts) });
      });
  }
}

function sum(counts: Counts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

// ---- Refusals ------------------------------------------------------------------------------------------

export interface Refusal {
  readonly status: 401 | 403;
  readonly reason: string;
  readonly token?: Pick<ParsedToken, 'id' | 'prefix'> | undefined;
  readonly key?: TrackedKey | undefined;
}

/**
 * Records one refusal: junk in memory (and towards the source IP's cool-down), anything else as
 * its own `admin.api_key_denied` entry. Never throws.
 */
export async function recordDenial(origin: RequestOrigin, refusal: Refusal, now: Date): Promise<void> {
  const ip = origin.sourceIp || undefined;
  const route = origin.route;
  rollOver(now);
  if (isJunk(refusal.reason)) {
    const t = sourceTally(ip ?? 'unknown', now);
    add(t.counts, `denied_${refusal.reason}`);
    if (t.routes.size < MAX_ROUTES) t.routes.add(route);
    if (refusal.token && t.keyPrefixes.size < MAX_PREFIXES) t.keyPrefixes.add(refusal.token.prefix);
    t.userAgent ??= userAgentOf(origin);
    const coolingUntil = isGuess(refusal.reason) ? noteInvalidToken(ip, now) : undefined;
    if (coolingUntil && ip) await auditCoolDown(ip, now, coolingUntil, userAgentOf(origin));
    // Nothing else is awaited for junk unless a minute is over: junk costs memory, not writes.
    if (finished.length) await flushFinished();
    return;
  }
  if (refusal.key) add(keyTally(refusal.key, now).counts, `denied_${refusal.reason}`);
  await Promise.all([
    safely(
      'record a denial',
      () =>
        putAuditEntry(
          denialEntry({
            eventId: randomUUID(),
            at: now,
            status: refusal.status,
            reason: refusal.reason,
            route,
            api: origin.api,
            sourceIp: ip,
            userAgent: userAgentOf(origin),
            requestId: origin.requestId || undefined,
            keyId: refusal.token?.id,
            keyPrefix: refusal.token?.prefix,
            key: refusal.key,
          }),
        ),
      { reason: refusal.reason, key_prefix: refusal.token?.prefix },
    ),
    flushFinished(),
  ]);
}

/** The cool-down's one audit entry, from whichever authorizer instance claims it first. */
async function auditCoolDown(ip: string, now: Date, until: Date, userAgent: string | undefined) {
  const policy = setting('sourceIpCoolDown');
  logger.warn('Source IP cooled down', { source_ip: ip, until: until.toISOString() });
  await safely('audit a cool-down', async () => {
    if (!(await claimCoolDown(ip, now, until))) return;
    await putAuditEntry(
      coolDownEntry({
        sourceIp: ip,
        at: now,
        until,
        invalidTokens: policy.invalidTokens,
        windowSeconds: policy.windowSeconds,
        ...(userAgent ? { userAgent } : {}),
      }),
    );
  });
}

// ---- Allowed requests ----------------------------------------------------------------------------------

interface SourceWindow {
  readonly start: number;
  readonly ips: Set<string>;
  noted: boolean;
}

/** Keys whose source IPs this instance tracks; past it the oldest is forgotten. */
const MAX_TRACKED_KEYS = 10_000;
const keySources = new Map<string, SourceWindow>();

/**
 * Records `ip` for the key when it is new to the key in this suspicion window (here): one write,
 * and when the key has now been seen from the threshold's number of IPs, a note for the notifier.
 */
function watchSourceIp(key: TrackedKey, ip: string, now: Date): Promise<void> | undefined {
  const { distinctIps, windowMinutes } = setting('suspiciousSourceIps');
  if (distinctIps <= 0) return undefined;
  const windowMs = windowMinutes * MINUTE_MS;
  const start = Math.floor(now.getTime() / windowMs) * windowMs;
  let w = keySources.get(key.id);
  if (!w || w.start !== start) {
    keySources.delete(key.id);
    if (keySources.size >= MAX_TRACKED_KEYS) {
      const oldest = keySources.keys().next().value;
      if (oldest !== undefined) keySources.delete(oldest);
    }
    w = { start, ips: new Set(), noted: false };
    keySources.set(key.id, w);
  }
  if (w.noted || w.ips.has(ip)) return undefined;
  w.ips.add(ip);
  const window = { start: new Date(start), end: new Date(start + windowMs) };
  const tracked = w;
  return safely(
    'record a source IP',
    async () => {
      const seen = await addKeySourceIp(key.id, window, ip);
      if (seen < distinctIps || tracked.noted) return;
      tracked.noted = true;
      const noted = await noteSuspicion({
        key_id: key.id,
        key_prefix: key.key_prefix,
        name: key.name,
        organization_id: key.organization_id,
        ...(key.workspace_id ? { workspace_id: key.workspace_id } : {}),
        environment: key.environment,
        key_type: key.key_type,
        window_start: window.start.toISOString(),
        window_end: window.end.toISOString(),
        detected_at: now.toISOString(),
        distinct_source_ips: seen,
        sample_source_ips: [...tracked.ips].slice(-10),
      });
      if (noted) logger.warn('Key seen from unusually many source IPs', { key_prefix: key.key_prefix, seen });
    },
    { key_prefix: key.key_prefix },
  );
}

/**
 * Counts an allowed request in memory. Writes only what changes at most once per key per minute
 * (its `last_used_at`), once per new source IP per key and window, and finished minutes.
 */
export async function recordUse(key: TrackedKey, sourceIp: string | undefined, now: Date): Promise<void> {
  const t = keyTally(key, now);
  add(t.counts, 'allowed');
  const writes: Promise<void>[] = [];
  if (!t.lastUseMarked) {
    t.lastUseMarked = true;
    writes.push(safely('record last use', () => markLastUsed(key.id, now), { key_prefix: key.key_prefix }));
  }
  const watched = sourceIp ? watchSourceIp(key, sourceIp, now) : undefined;
  if (watched) writes.push(watched);
  if (finished.length) writes.push(flushFinished());
  if (writes.length) await Promise.all(writes);
}
