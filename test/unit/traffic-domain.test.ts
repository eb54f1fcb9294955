/** The pure rules of traffic controls: windows, refill periods, intervals, the cool-down, and the gateway's answers. */
import {
  FullCounters,
  parseInterval,
  quotaPeriod,
  rateWindow,
  retryAfterSeconds,
} from '../../functions/domain/rate-limit';
import { isGuess, isJunk, SourceGuard } from '../../functions/domain/source-guard';
import { LATCHKEY_GATEWAY_RESPONSES, renderGatewayResponse } from '../../lib/gateway-responses';

const at = (iso: string) => new Date(iso);

describe('rate windows', () => {
  it('are fixed, aligned to multiples of their length, 60 s by default', () => {
    expect(rateWindow({}, at('2030-01-01T10:00:30Z'))).toBeUndefined();
    expect(rateWindow({ rate_limit: 5 }, at('2030-01-01T10:00:30Z'))).toEqual({
      limit: 5,
      seconds: 60,
      start: at('2030-01-01T10:00:00Z'),
      end: at('2030-01-01T10:01:00Z'),
    });
    expect(
      rateWindow({ rate_limit: 5, rate_limit_window_seconds: 3600 }, at('2030-01-01T10:59:59Z'))?.start,
    ).toEqual(at('2030-01-01T10:00:00Z'));
  });

  it('say when to retry in whole seconds, never 0', () => {
    expect(retryAfterSeconds(at('2030-01-01T10:01:00Z'), at('2030-01-01T10:00:15.500Z'))).toBe(45);
    expect(retryAfterSeconds(at('2030-01-01T10:01:00Z'), at('2030-01-01T10:01:00Z'))).toBe(1);
  });
});

describe('quota periods', () => {
  const quota = { remaining: 10, anchor_at: '2030-01-01T10:20:00.000Z' };

  it('without a refill: one period from the anchor, with no end', () => {
    const p = quotaPeriod({ quota }, at('2031-06-01T00:00:00Z'));
    expect(p).toMatchObject({ allowance: 10, start: at('2030-01-01T10:20:00Z') });
    expect(p?.end).toBeUndefined();
  });

  it('with a refill: `remaining` until the first refill, then `refill_amount` per interval from the anchor', () => {
    const refilled = { quota: { ...quota, refill_amount: 3, refill_interval_seconds: 3600 } };
    const first = quotaPeriod(refilled, at('2030-01-01T11:19:59Z'));
    const second = quotaPeriod(refilled, at('2030-01-01T11:20:00Z'));
    expect(first).toMatchObject({ allowance: 10, end: at('2030-01-01T11:20:00Z') });
    expect(second).toMatchObject({
      allowance: 3,
      start: at('2030-01-01T11:20:00Z'),
      end: at('2030-01-01T12:20:00Z'),
    });
    // Each period counts apart, and ids sort in time order.
    expect(first?.id).not.toBe(second?.id);
    expect([second?.id, first?.id].sort()).toEqual([first?.id, second?.id]);
  });
});

it.each([
  [3600, 3600],
  ['90', 90],
  ['90s', 90],
  ['30m', 1800],
  ['1h', 3600],
  ['7d', 604_800],
  ['1w', undefined],
  ['-1h', undefined],
  [0, undefined],
  [1.5, undefined],
])('reads the refill interval %j as %j seconds', (input, seconds) => {
  expect(parseInterval(input)).toBe(seconds);
});

it('remembers full counters per key, and forgets them when the window moves or the limit rises', () => {
  const full = new FullCounters(2);
  full.markFull('k1', 'w1', 5);
  expect(full.isFull('k1', 'w1', 5)).toBe(true);
  expect(full.isFull('k1', 'w1', 6)).toBe(false);
  expect(full.isFull('k1', 'w2', 5)).toBe(false);
  full.markFull('k2', 'w1', 1);
  full.markFull('k3', 'w1', 1);
  // Bounded: the oldest is forgotten (and only costs a write to learn again).
  expect(full.isFull('k1', 'w1', 5)).toBe(false);
});

describe('junk and the cool-down', () => {
  it('calls junk what identifies no key, and guesses the invalid tokens among it', () => {
    expect(['missing_token', 'malformed_token', 'unknown_key', 'wrong_secret'].every(isJunk)).toBe(true);
    expect(['grace_expired', 'scope_missing', 'rate_limited', 'store_unavailable'].some(isJunk)).toBe(false);
    expect(isGuess('missing_token')).toBe(false);
    expect(isGuess('wrong_secret')).toBe(true);
  });

  it('cools an IP down at the threshold within a window, for the configured time, and only then', () => {
    const guard = new SourceGuard({ invalidTokens: 3, windowSeconds: 60, coolDownSeconds: 300 });
    const t = Date.parse('2030-01-01T10:00:00Z');
    expect(guard.noteGuess('a', t)).toBeUndefined();
    expect(guard.noteGuess('a', t + 1)).toBeUndefined();
    // Another IP's guesses are its own.
    expect(guard.noteGuess('b', t + 2)).toBeUndefined();
    expect(guard.noteGuess('a', t + 3)).toBe(t + 3 + 300_000);
    expect(guard.coolingDownUntil('a', t + 299_000)).toBe(t + 3 + 300_000);
    expect(guard.coolingDownUntil('b', t + 4)).toBeUndefined();
    // Guesses during the cool-down do not extend it; after it, counting starts over.
    expect(guard.noteGuess('a', t + 10)).toBeUndefined();
    expect(guard.coolingDownUntil('a', t + 3 + 300_000)).toBeUndefined();
  });

  it('counts per fixed window, and is off at 0', () => {
    const guard = new SourceGuard({ invalidTokens: 2, windowSeconds: 60, coolDownSeconds: 60 });
    const t = Date.parse('2030-01-01T10:00:59Z');
    expect(guard.noteGuess('a', t)).toBeUndefined();
    expect(guard.noteGuess('a', t + 2_000)).toBeUndefined();
    const off = new SourceGuard({ invalidTokens: 0, windowSeconds: 60, coolDownSeconds: 60 });
    for (let i = 0; i < 100; i++) expect(off.noteGuess('a', t)).toBeUndefined();
  });
});

describe('the gateway’s answers to refusals', () => {
  it('say rate limited with a Retry-After, and nothing more for any other 403', () => {
    const limited = renderGatewayResponse('ACCESS_DENIED', { reason: 'rate_limited', retryAfter: '12' });
    expect(limited).toEqual({
      status: 403,
      headers: { 'content-type': 'application/json', 'retry-after': '12' },
      body: JSON.stringify({
        error: { code: 'forbidden', message: 'Forbidden', reason: 'rate_limited', retry_after: '12' },
      }),
    });
    const other = renderGatewayResponse('ACCESS_DENIED', { reason: '', retryAfter: '' });
    expect(other?.headers).toEqual({ 'content-type': 'application/json' });
    expect(JSON.parse(other?.body ?? '')).toEqual({
      error: { code: 'forbidden', message: 'Forbidden', reason: '', retry_after: '' },
    });
    // No context at all (an IAM denial shares ACCESS_DENIED): still valid JSON.
    expect(JSON.parse(renderGatewayResponse('ACCESS_DENIED', {})?.body ?? '')).toMatchObject({
      error: { code: 'forbidden' },
    });
    expect(JSON.parse(renderGatewayResponse('UNAUTHORIZED', {})?.body ?? '')).toEqual({
      error: { code: 'unauthorized', message: 'Unauthorized' },
    });
  });

  it('keep context values inside their JSON strings', () => {
    const body = renderGatewayResponse('ACCESS_DENIED', { reason: '"},"x":{"', retryAfter: '1' })?.body ?? '';
    expect(JSON.parse(body).error.reason).toBe('"},"x":{"');
    expect(LATCHKEY_GATEWAY_RESPONSES.map((r) => r.type).sort()).toEqual(['ACCESS_DENIED', 'UNAUTHORIZED']);
  });
});
