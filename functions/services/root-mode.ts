/**
 * Root mode (docs/tenancy.md#root-mode): a time-boxed elevation (at most 15 minutes) a super admin
 * allowed root opens for its own session, through the one route whose resource policy requires
 * MFA. System keys and `system:*` scopes are changed only while it is open. Opening, closing and
 * the end of its time box are audited (the last one when next seen: nothing runs at that instant).
 */
import { randomUUID } from 'node:crypto';
import { PLATFORM_FEED } from '../domain/access';
import type { Actor } from '../domain/api-key';
import { type AuditEventName, adminEntry } from '../domain/audit';
import { ConflictError } from '../domain/errors';
import { type Elevation, elevationLapsed, elevationOpen, MAX_ELEVATION_MINUTES } from '../domain/tenancy';
import { closeElevation, getElevation, openElevation, WriteConflict } from '../repositories/admin-repository';
import { type AccessDecision, authorize, type Clock } from './access-control';

const systemClock: Clock = () => new Date();

export interface RootModeState {
  principal: string;
  open: boolean;
  /** Whether any of the caller's bindings allows it to open root mode. */
  root_allowed: boolean;
  opened_at: string | null;
  expires_at: string | null;
  closed_at: string | null;
  closed_reason: 'closed' | 'expired' | null;
  reason: string | null;
  remaining_seconds: number;
}

/** The state `GET /v1/root-mode` answers (also part of `GET /v1/me`). */
export function stateOf(
  principal: string,
  e: Elevation | undefined,
  decision: AccessDecision,
  now: Date,
): RootModeState {
  const open = elevationOpen(e, now);
  return {
    principal,
    open,
    root_allowed: decision.bindings.some((b) => b.role === 'super_admin' && b.root_allowed),
    opened_at: e?.opened_at ?? null,
    expires_at: e?.expires_at ?? null,
    closed_at: e?.closed_at ?? (e && !open ? e.expires_at : null),
    closed_reason: e?.closed_reason ?? (e && !open ? 'expired' : null),
    reason: e?.reason ?? null,
    remaining_seconds:
      open && e ? Math.max(0, Math.ceil((Date.parse(e.expires_at) - now.getTime()) / 1000)) : 0,
  };
}

const rootEntry = (name: AuditEventName, actor: Actor, at: Date, details: Record<string, unknown>) =>
  adminEntry({ eventId: randomUUID(), eventName: name, at, actor, organizationId: PLATFORM_FEED, details });

/** Records once that an elevation's time box ended (at its `expires_at`); a no-op when already recorded. */
async function recordLapse(
  caller: Actor,
  e: Elevation | undefined,
  now: Date,
): Promise<Elevation | undefined> {
  if (!elevationLapsed(e, now)) return e;
  const at = new Date(e.expires_at);
  try {
    await closeElevation(e.principal, e.opened_at, e.expires_at, 'expired', [
      rootEntry('root_mode.expired', { principal: caller.principal }, at, {
        opened_at: e.opened_at,
        expires_at: e.expires_at,
        reason: e.reason,
      }),
    ]);
  } catch (error) {
    // Another request recorded it first.
    if (!(error instanceof WriteConflict)) throw error;
  }
  return { ...e, closed_at: e.expires_at, closed_reason: 'expired' };
}

export async function rootModeState(caller: Actor, clock: Clock = systemClock) {
  const decision = await authorize(caller, 'root_mode:read', {}, { clock });
  const now = clock();
  const e = await recordLapse(caller, await getElevation(caller.principal), now);
  return { state: stateOf(caller.principal, e, decision, now), decision };
}

export async function openRootMode(
  caller: Actor,
  input: { duration_minutes: number; reason: string },
  clock: Clock = systemClock,
) {
  const decision = await authorize(caller, 'root_mode:open', {}, { clock });
  const now = clock();
  await recordLapse(caller, await getElevation(caller.principal), now);
  const minutes = Math.min(input.duration_minutes, MAX_ELEVATION_MINUTES);
  const elevation: Elevation = {
    principal: caller.principal,
    opened_at: now.toISOString(),
    expires_at: new Date(now.getTime() + minutes * 60_000).toISOString(),
    reason: input.reason,
  };
  try {
    await openElevation(elevation, now, [
      rootEntry('root_mode.opened', caller, now, {
        expires_at: elevation.expires_at,
        duration_minutes: minutes,
        reason: input.reason,
      }),
    ]);
  } catch (error) {
    if (error instanceof WriteConflict) {
      throw new ConflictError(
        'Root mode is already open for this principal: close it (DELETE /v1/root-mode) first.',
      );
    }
    throw error;
  }
  return { state: stateOf(caller.principal, elevation, { ...decision, elevated: true }, now), decision };
}

/** Closes the caller's elevation now; closing when none is open changes nothing and answers the state. */
export async function closeRootMode(caller: Actor, clock: Clock = systemClock) {
  const decision = await authorize(caller, 'root_mode:close', {}, { clock });
  const now = clock();
  let e = await recordLapse(caller, await getElevation(caller.principal), now);
  if (e && elevationOpen(e, now)) {
    try {
      await closeElevation(e.principal, e.opened_at, now.toISOString(), 'closed', [
        rootEntry('root_mode.closed', caller, now, { opened_at: e.opened_at, expires_at: e.expires_at }),
      ]);
      e = { ...e, closed_at: now.toISOString(), closed_reason: 'closed' };
    } catch (error) {
      if (!(error instanceof WriteConflict)) throw error;
      e = await getElevation(caller.principal);
    }
  }
  return { state: stateOf(caller.principal, e, decision, now), decision };
}
