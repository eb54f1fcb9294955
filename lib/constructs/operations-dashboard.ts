import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  AUDIT_CONSUMER_METRICS,
  AUTHORIZER_METRICS,
  METRICS_NAMESPACE,
  type MetricDefinition,
  REASON_DIMENSION,
  REFUSAL_REASONS,
  SERVICE_DIMENSION,
} from '../metric-catalog';

export interface OperationsDashboardProps {
  /** The Latchkey authorizer: its custom metrics, and Lambda's Duration and Throttles for it. */
  readonly authorizer: lambda.IFunction;
  /** The audit stream consumer. */
  readonly auditConsumer: lambda.IFunction;
  /**
   * Alarms made elsewhere (dead-letter queues, iterator age), by the title their graph gets: shown
   * on the dashboard with the new ones.
   * @default none
   */
  readonly alarms?: Readonly<Record<string, cloudwatch.IAlarm>>;
  /**
   * Alarm when the authorizer's p99 duration (Lambda's `Duration`, which also counts invocations
   * that time out) stays above this for `authorizerLatencyEvaluationPeriods` five-minute periods.
   * Every uncached API request waits for the authorizer; a warm decision is one GetItem.
   * @default Duration.millis(500)
   */
  readonly authorizerLatencyThreshold?: Duration;
  /**
   * Consecutive five-minute periods above `authorizerLatencyThreshold` before the alarm fires.
   * @default 3
   */
  readonly authorizerLatencyEvaluationPeriods?: number;
  /**
   * Alarm when the authorizer fails closed (`StoreErrors`: it could not read the key store, so a
   * caller was refused whatever their key) at least this many times in five minutes.
   * @default 5
   */
  readonly authorizerErrorsThreshold?: number;
}

interface MetricOptions {
  readonly label?: string;
  /** Besides the service. */
  readonly dimensions?: Record<string, string>;
  /** @default one minute */
  readonly period?: Duration;
}

const PERIOD = Duration.minutes(1);
const ALARM_PERIOD = Duration.minutes(5);

/**
 * One CloudWatch dashboard for running Latchkey (docs/operations.md): authorizer decisions (allowed,
 * refused by reason, store errors), its latency, the audit consumer's throughput and failures, and
 * every alarm; plus alarms on authorizer errors and p99 latency. The dashboard has a generated
 * name, like every other resource but the event bus (the stack outputs it).
 */
export class OperationsDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Fires when the authorizer fails closed too often. */
  readonly authorizerErrorsAlarm: cloudwatch.Alarm;
  /** Fires when the authorizer's p99 duration stays high. */
  readonly authorizerLatencyAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: OperationsDashboardProps) {
    super(scope, id);
    const latencyThreshold = props.authorizerLatencyThreshold ?? Duration.millis(500);
    const latencyPeriods = props.authorizerLatencyEvaluationPeriods ?? 3;
    const errorsThreshold = props.authorizerErrorsThreshold ?? 5;

    const custom = (
      service: string,
      metric: MetricDefinition,
      statistic: string,
      options: MetricOptions = {},
    ) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: metric.name,
        dimensionsMap: { [SERVICE_DIMENSION]: service, ...options.dimensions },
        statistic,
        period: options.period ?? PERIOD,
        ...(options.label ? { label: options.label } : {}),
      });
    const authorizer = (metric: MetricDefinition, statistic: string, options: MetricOptions = {}) =>
      custom(AUTHORIZER_METRICS.service, metric, statistic, options);
    const consumer = (metric: MetricDefinition, statistic: string, options: MetricOptions = {}) =>
      custom(AUDIT_CONSUMER_METRICS.service, metric, statistic, options);

    this.authorizerErrorsAlarm = new cloudwatch.Alarm(this, 'AuthorizerErrorsAlarm', {
      alarmDescription:
        `Latchkey: the authorizer failed closed (StoreErrors) ${errorsThreshold}+ times in 5 minutes: ` +
        'callers are refused whatever their key (docs/operations.md)',
      metric: authorizer(AUTHORIZER_METRICS.storeErrors, 'Sum', { period: ALARM_PERIOD }),
      threshold: errorsThreshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.authorizerLatencyAlarm = new cloudwatch.Alarm(this, 'AuthorizerLatencyAlarm', {
      alarmDescription:
        `Latchkey: the authorizer's p99 duration has been above ${latencyThreshold.toMilliseconds()} ms ` +
        `for ${latencyPeriods * 5} minutes (docs/operations.md)`,
      metric: props.authorizer.metricDuration({ statistic: 'p99', period: ALARM_PERIOD }),
      threshold: latencyThreshold.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: latencyPeriods,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const others = Object.entries(props.alarms ?? {});
    const allAlarms = [this.authorizerErrorsAlarm, this.authorizerLatencyAlarm, ...others.map(([, a]) => a)];
    const half = { width: 12, height: 6 } as const;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown:
              '# Latchkey\nAuthorizer decisions and latency, the audit trail consumer, and every alarm. ' +
              'What each metric means and what to do when an alarm fires: `docs/operations.md`.',
            width: 24,
            height: 2,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: allAlarms, width: 24, height: 3 })],
        [
          new cloudwatch.GraphWidget({
            title: 'Authorizer decisions (per minute)',
            left: [
              authorizer(AUTHORIZER_METRICS.allowed, 'Sum', { label: 'Allowed' }),
              authorizer(AUTHORIZER_METRICS.refused, 'Sum', { label: 'Refused' }),
              authorizer(AUTHORIZER_METRICS.storeErrors, 'Sum', { label: 'Store errors (failed closed)' }),
            ],
            ...half,
          }),
          new cloudwatch.GraphWidget({
            title: 'Refused by reason (per minute)',
            stacked: true,
            left: REFUSAL_REASONS.map((reason) =>
              authorizer(AUTHORIZER_METRICS.refused, 'Sum', {
                label: reason,
                dimensions: { [REASON_DIMENSION]: reason },
              }),
            ),
            ...half,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Authorizer latency (ms)',
            left: [
              authorizer(AUTHORIZER_METRICS.decisionLatency, 'p50', { label: 'Decision p50' }),
              authorizer(AUTHORIZER_METRICS.decisionLatency, 'p99', { label: 'Decision p99' }),
              props.authorizer.metricDuration({
                statistic: 'p99',
                period: PERIOD,
                label: 'Lambda duration p99',
              }),
            ],
            leftAnnotations: [
              { value: latencyThreshold.toMilliseconds(), label: 'p99 alarm threshold (5-minute p99)' },
            ],
            ...half,
          }),
          new cloudwatch.GraphWidget({
            title: 'Authorizer errors (per minute)',
            left: [
              authorizer(AUTHORIZER_METRICS.storeErrors, 'Sum', { label: 'Store errors (failed closed)' }),
              props.authorizer.metricThrottles({ statistic: 'Sum', period: PERIOD, label: 'Throttles' }),
            ],
            ...half,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Audit consumer (per minute)',
            left: [
              consumer(AUDIT_CONSUMER_METRICS.entriesWritten, 'Sum', { label: 'Entries written' }),
              consumer(AUDIT_CONSUMER_METRICS.duplicatesSkipped, 'Sum', { label: 'Duplicates skipped' }),
              consumer(AUDIT_CONSUMER_METRICS.recordFailures, 'Sum', { label: 'Record failures' }),
            ],
            right: [
              props.auditConsumer.metricErrors({ statistic: 'Sum', period: PERIOD, label: 'Failed batches' }),
            ],
            width: 24,
            height: 6,
          }),
        ],
        // Each existing alarm with its own metric and threshold, three to a row.
        ...chunks(others, 3).map((row) =>
          row.map(([title, alarm]) => new cloudwatch.AlarmWidget({ alarm, title, width: 8, height: 6 })),
        ),
      ],
    });
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
