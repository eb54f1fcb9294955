/**
 * Custom metrics as CloudWatch EMF log lines (Powertools Metrics): no network call, CloudWatch
 * extracts them from the function's log. The authorizer writes its own lines without Powertools
 * (`authorizer-metrics.ts`). Names, units and dimensions are `lib/metric-catalog.ts`;
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
import { AUDIT_CONSUMER_METRICS, METRICS_NAMESPACE, type MetricDefinition } from '../../lib/metric-catalog';
import { logger } from './logger';

// Powertools' own warnings go through the structured logger (silenced in tests like every log).
const create = (service: string) =>
  new Metrics({ namespace: METRICS_NAMESPACE, serviceName: service, logger });

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
