/**
 * Custom metrics as CloudWatch EMF log lines (Powertools Metrics): no network call, CloudWatch
 * extracts them from the function's log. Names, units and dimensions are `lib/metric-catalog.ts`;
 * docs/operations.md says what each means.
 *
 * One Metrics instance per service, created once per execution environment. Each invocation adds
 * its metrics and flushes them in one synchronous step: nothing stays buffered across an await, so
 * invocations sharing a process (the local stack) never publish each other's values.
 *
 * Metrics never fail a request: whatever Powertools throws is logged by name and the values are
 * dropped. The only dimensions are the service and, for refusals, a reason from a fixed set; the
 * types below admit nothing else (no token, secret, hash, key id or prefix).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  AUDIT_CONSUMER_METRICS,
  AUTHORIZER_METRICS,
  METRICS_NAMESPACE,
  type MetricDefinition,
  REASON_DIMENSION,
  type RefusalReason,
} from '../../lib/metric-catalog';
import { logger } from './logger';

// Powertools' own warnings go through the structured logger (silenced in tests like every log).
const create = (service: string) =>
  new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service, logger });

const authorizer = create(AUTHORIZER_METRICS.service);
const auditConsumer = create(AUDIT_CONSUMER_METRICS.service);

function add(metrics: Metrics, metric: MetricDefinition, value: number): void {
  metrics.addMetric(metric.name, metric.unit, value);
}

/** Adds and flushes one invocation's metrics; on any error drops them, so the request goes on. */
function publish(metrics: Metrics, record: (m: Metrics) => void): void {
  try {
    record(metrics);
    metrics.publishStoredMetrics();
  } catch (error) {
    try {
      metrics.clearMetrics();
      metrics.clearDimensions();
    } catch {
      // Nothing more to drop.
    }
    logger.warn('Metrics dropped', { error_name: (error as Error).name });
  }
}

export type AuthorizationOutcome =
  | { readonly result: 'allowed' }
  | { readonly result: 'refused'; readonly reason: RefusalReason }
  | { readonly result: 'store_error' };

/** One authorizer invocation: its outcome and how long the caller waited for it, as one EMF line. */
export function recordAuthorization(outcome: AuthorizationOutcome, latencyMs: number): void {
  publish(authorizer, (m) => {
    if (outcome.result === 'allowed') add(m, AUTHORIZER_METRICS.allowed, 1);
    else if (outcome.result === 'store_error') add(m, AUTHORIZER_METRICS.storeErrors, 1);
    else {
      add(m, AUTHORIZER_METRICS.refused, 1);
      // Two dimension sets on this line: [service, reason] for the per-reason series, and the
      // empty set, i.e. [service] alone, so the totals (and the latency over every decision) need
      // no sum over reasons.
      m.addDimension(REASON_DIMENSION, outcome.reason);
      m.addDimensions({});
    }
    add(m, AUTHORIZER_METRICS.decisionLatency, latencyMs);
  });
}

export interface AuditBatchCounts {
  readonly written: number;
  readonly duplicates: number;
  readonly failed: number;
}

/** One stream batch's outcome; zeros too, so a quiet consumer graphs as 0 rather than no data. */
export function recordAuditBatch(counts: AuditBatchCounts): void {
  publish(auditConsumer, (m) => {
    add(m, AUDIT_CONSUMER_METRICS.entriesWritten, counts.written);
    add(m, AUDIT_CONSUMER_METRICS.duplicatesSkipped, counts.duplicates);
    add(m, AUDIT_CONSUMER_METRICS.recordFailures, counts.failed);
  });
}
