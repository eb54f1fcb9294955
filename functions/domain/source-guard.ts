/**
 * Junk traffic, as pure rules (docs/authorizer.md#junk-and-cool-down): which refusals are junk, and
 * when a source IP that keeps presenting invalid tokens is cooled down. The state is one authorizer
 * instance's memory: nothing here reads or writes a store, which is the point (a cooled-down IP's
 * guesses cost no database read).
 */

/**
 * Refusals that identify no key: nothing proves the caller holds any key's secret, so they are
 * counted per source IP and minute (one audit entry with the counts) instead of one entry each.
 * `wrong_secret` is here on purpose: a token built from a public `key_prefix` must not be able to
 * write into that real key's history.
 */
export const JUNK_REASONS = [
  'missing_token',
  'malformed_token',
  'unknown_key',
  'wrong_secret',
  'ip_cooling_down',
] as const;
export type JunkReason = (typeof JUNK_REASONS)[number];

/** A refusal of every request from a cooled-down source IP: `403` with a `Retry-After`. */
export const COOL_DOWN_REASON = 'ip_cooling_down';

/** The guesses that count towards a cool-down: tokens that were presented and were not valid. */
const GUESSES: ReadonlySet<string> = new Set(['malformed_token', 'unknown_key', 'wrong_secret']);

export function isJunk(reason: string): reason is JunkReason {
  return (JUNK_REASONS as readonly string[]).includes(reason);
}

export function isGuess(reason: string): boolean {
  return GUESSES.has(reason);
}

export interface CoolDownPolicy {
  /** Invalid tokens from one source IP within `windowSeconds` that start a cool-down; 0 turns it off. */
  readonly invalidTokens: number;
  readonly windowSeconds: number;
  /** How long every request from that IP is then refused without a read. */
  readonly coolDownSeconds: number;
}

interface SourceState {
  windowStart: number;
  guesses: number;
  coolingUntil: number;
}

/**
 * Per source IP: guesses in the current fixed window, and the end of a cool-down. Bounded: past
 * `maxSources` the least recently touched IP is forgotten (an attacker rotating through many IPs
 * gets at most `invalidTokens` guesses per IP and window, as without the bound).
 */
export class SourceGuard {
  private readonly sources = new Map<string, SourceState>();

  constructor(
    private readonly policy: CoolDownPolicy,
    private readonly maxSources = 10_000,
  ) {}

  /** The end of `ip`'s cool-down (epoch ms) when it is cooling down at `nowMs`. */
  coolingDownUntil(ip: string, nowMs: number): number | undefined {
    const s = this.sources.get(ip);
    return s && s.coolingUntil > nowMs ? s.coolingUntil : undefined;
  }

  /**
   * Counts one invalid token from `ip`; returns the end of the cool-down it starts, if it starts one
   * (only the guess that crosses the threshold does).
   */
  noteGuess(ip: string, nowMs: number): number | undefined {
    const { invalidTokens, windowSeconds, coolDownSeconds } = this.policy;
    if (invalidTokens <= 0) return undefined;
    const windowMs = windowSeconds * 1000;
    const windowStart = Math.floor(nowMs / windowMs) * windowMs;
    let s = this.sources.get(ip);
    if (s) {
      this.sources.delete(ip);
    } else {
      if (this.sources.size >= this.maxSources) {
        const oldest = this.sources.keys().next().value;
        if (oldest !== undefined) this.sources.delete(oldest);
      }
      s = { windowStart, guesses: 0, coolingUntil: 0 };
    }
    this.sources.set(ip, s);
    if (s.coolingUntil > nowMs) return undefined;
    if (s.windowStart !== windowStart) {
      s.windowStart = windowStart;
      s.guesses = 0;
    }
    s.guesses++;
    if (s.guesses < invalidTokens) return undefined;
    s.guesses = 0;
    s.coolingUntil = nowMs + coolDownSeconds * 1000;
    return s.coolingUntil;
  }
}
