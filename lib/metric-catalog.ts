/**
 * The custom metrics contract between the functions that emit them (`functions/shared/metrics.ts`,
 * as CloudWatch EMF log lines) and the stack that graphs and alarms on them
 * (`lib/constructs/operations-dashboard.ts`). docs/operations.md says what each one means.
 *
 * Pure data with no CDK or Powertools import: the authorizer bundles it.
 */
import {
  REFUSAL_REASONS as DECISION_REASONS,
  type RefusalReason as DecisionReason,
} from '../functions/domain/authorization';
import { LIMIT_REASONS, type LimitReason } from '../functions/domain/rate-limit';
import { COOL_DOWN_REASON } from '../functions/domain/source-guard';
import { functions } from './declaration';

/** Every reason the authorizer refuses for: the decision's, the limits', and a source IP's cool-down. */
export type RefusalReason = DecisionReason | LimitReason | typeof COOL_DOWN_REASON;
export const REFUSAL_REASONS: readonly RefusalReason[] = [
  ...DECISION_REASONS,
  ...LIMIT_REASONS,
  COOL_DOWN_REASON,
];

export const METRICS_NAMESPACE = 'Latchkey';

/** On every metric: the emitting function's declared name (a handful of values). */
export const SERVICE_DIMENSION = 'service';

/**
 * On refusals only: one of `REFUSAL_REASONS`, a fixed set. Nothing a caller sends (token, key id,
 * prefix, IP) is ever a dimension: that would be a secret, or one metric per caller.
 */
export const REASON_DIMENSION = 'reason';

export interface MetricDefinition {
  readonly name: string;
  /** A CloudWatch unit, as Powertools' `MetricUnit` spells it. */
  readonly unit: 'Count' | 'Milliseconds';
}

/** One authorizer invocation emits one of the three outcomes, and its latency. */
export const AUTHORIZER_METRICS = {
  service: functions.authorizer.name,
  allowed: { name: 'Allowed', unit: 'Count' },
  /** Also under `REASON_DIMENSION`, one series per reason. */
  refused: { name: 'Refused', unit: 'Count' },
  /** The fail-closed path: no decision could be made (401). */
  storeErrors: { name: 'StoreErrors', unit: 'Count' },
  /** Handler start to answer, audit writes included; refusals also under `REASON_DIMENSION`. */
  decisionLatency: { name: 'DecisionLatency', unit: 'Milliseconds' },
} as const satisfies { service: string } & Record<string, MetricDefinition | string>;

/** One audit consumer invocation (a stream batch) emits all three, zeros included. */
export const AUDIT_CONSUMER_METRICS = {
  service: functions.auditConsumer.name,
  entriesWritten: { name: 'EntriesWritten', unit: 'Count' },
  /** Records whose entry was already there: a retried batch. */
  duplicatesSkipped: { name: 'DuplicatesSkipped', unit: 'Count' },
  /** Records reported back to Lambda as failed (retried, then dead-lettered). */
  recordFailures: { name: 'RecordFailures', unit: 'Count' },
} as const satisfies { service: string } & Record<string, MetricDefinition | string>;
