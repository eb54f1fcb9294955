/**
 * This authorizer instance's memory of source IPs presenting invalid tokens
 * (docs/authorizer.md#junk-and-cool-down): the pure `SourceGuard` under the configured policy.
 * Consulted before any read, so a cooled-down IP's guesses cost no database read at all.
 */
import { SourceGuard } from '../domain/source-guard';
import { setting } from '../shared/config';

let guard: SourceGuard | undefined;
let policy: unknown;

function current(): SourceGuard {
  // `setting` returns the same object while its variable is unchanged.
  const p = setting('sourceIpCoolDown');
  if (!guard || p !== policy) {
    guard = new SourceGuard(p);
    policy = p;
  }
  return guard;
}

/** The end of `ip`'s cool-down, when it is cooling down at `now`. */
export function coolingDownUntil(ip: string | undefined, now: Date): Date | undefined {
  if (!ip) return undefined;
  const until = current().coolingDownUntil(ip, now.getTime());
  return until === undefined ? undefined : new Date(until);
}

/** Counts an invalid token from `ip`; the end of the cool-down it starts, if it starts one. */
export function noteInvalidToken(ip: string | undefined, now: Date): Date | undefined {
  if (!ip) return undefined;
  const until = current().noteGuess(ip, now.getTime());
  return until === undefined ? undefined : new Date(until);
}
