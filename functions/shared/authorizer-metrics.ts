/**
 * The authorizer's metrics as CloudWatch EMF lines on stdout (docs/operations.md): the same lines
 * Powertools Metrics writes (names and units from `lib/metric-catalog.ts`), written here directly
 * because Powertools' 20 KB would keep the authorizer's bundle from staying within 10% of the
 * DynamoDB client's. The audit consumer keeps Powertools (`metrics.ts`).
 *
 * A decision that read the store writes one line per invocation: its outcome and latency. A refusal
 * that read nothing (a missing or malformed token, a cooled-down source IP) is counted in memory and
 * written as one line per reason, with the count, once its minute is over (at the first invocation
 * of a later minute) or every FLUSH_AT refusals: a flood of junk costs no log line per request.
 * Those lines carry no latency: microseconds of junk would only dilute the decision latency.
 *
 * Never throws. `POWERTOOLS_METRICS_DISABLED=true` turns the lines off, as it does Powertools'.
 * Dimensions: the service and, for refusals, a reason from a fixed set; never caller data.
 */
import {
  AUTHORIZER_METRICS as M,
  METRICS_NAMESPACE,
  type MetricDefinition,
  REASON_DIMENSION,
  SERVICE_DIMENSION,
} from '../../lib/metric-catalog';

/** Refusals decided without a read of the store. */
export const COUNTED_REFUSALS: ReadonlySet<string> = new Set([
  'missing_token',
  'malformed_token',
  'ip_cooling_down',
]);
const MINUTE_MS = 60_000;
const FLUSH_AT = 10_000;

export type AuthorizationOutcome =
  | { readonly result: 'allowed' }
  | { readonly result: 'refused'; readonly reason: string }
  | { readonly result: 'store_error' };

let off: boolean | undefined;
/** Read once, on first use, as Powertools reads it when the Metrics instance is made. */
const disabled = () => {
  off ??= process.env.POWERTOOLS_METRICS_DISABLED?.toLowerCase() === 'true';
  return off;
};

function emit(timestamp: number, metrics: [MetricDefinition, number][], reason?: string): void {
  const line: Record<string, unknown> = {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: METRICS_NAMESPACE,
          // With a reason: [service, reason] per reason, and [service] alone for the totals.
          Dimensions:
            reason === undefined
              ? [[SERVICE_DIMENSION]]
              : [[SERVICE_DIMENSION, REASON_DIMENSION], [SERVICE_DIMENSION]],
          Metrics: metrics.map(([m]) => ({ Name: m.name, Unit: m.unit })),
        },
      ],
    },
    [SERVICE_DIMENSION]: M.service,
  };
  if (reason !== undefined) line[REASON_DIMENSION] = reason;
  for (const [m, value] of metrics) line[m.name] = value;
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

let countedMinute = Number.NEGATIVE_INFINITY;
let counted = new Map<string, number>();

function flushCounted(): void {
  const pending = counted;
  counted = new Map();
  for (const [reason, n] of pending) emit(countedMinute, [[M.refused, n]], reason);
}

/** One authorizer invocation's outcome and how long the caller waited for it. */
export function recordAuthorization(
  outcome: AuthorizationOutcome,
  latencyMs: number,
  now = Date.now(),
): void {
  if (disabled()) return;
  try {
    const minute = now - (now % MINUTE_MS);
    if (minute > countedMinute) {
      if (counted.size) flushCounted();
      countedMinute = minute;
    }
    if (outcome.result === 'refused' && COUNTED_REFUSALS.has(outcome.reason)) {
      const n = (counted.get(outcome.reason) ?? 0) + 1;
      counted.set(outcome.reason, n);
      if (n >= FLUSH_AT) flushCounted();
      return;
    }
    if (outcome.result === 'allowed')
      emit(now, [
        [M.allowed, 1],
        [M.decisionLatency, latencyMs],
      ]);
    else if (outcome.result === 'store_error')
      emit(now, [
        [M.storeErrors, 1],
        [M.decisionLatency, latencyMs],
      ]);
    else
      emit(
        now,
        [
          [M.refused, 1],
          [M.decisionLatency, latencyMs],
        ],
        outcome.reason,
      );
  } catch {
    // Metrics never fail a request; what could not be written is dropped.
    counted = new Map();
  }
}
