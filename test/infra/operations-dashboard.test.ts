/**
 * The operations dashboard and the authorizer's alarms (docs/operations.md), as CloudFormation: the
 * alarms' metric, statistic and threshold, and which metrics and alarms the dashboard body shows.
 * Metric names, dimensions and reasons come from lib/metric-catalog.ts, the functions' own contract.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { OperationsDashboard } from '../../lib/constructs/operations-dashboard';
import { functions, streamConsumer } from '../../lib/declaration';
import { LatchkeyStack } from '../../lib/latchkey-stack';
import {
  AUDIT_CONSUMER_METRICS,
  AUTHORIZER_METRICS,
  METRICS_NAMESPACE,
  REASON_DIMENSION,
  REFUSAL_REASONS,
  SERVICE_DIMENSION,
} from '../../lib/metric-catalog';
import { functionId, logicalIdOf, testApp } from './helpers';

type Json = Record<string, unknown>;

let template: Template;

beforeAll(() => {
  template = Template.fromStack(new LatchkeyStack(testApp(), 'LatchkeyStack'));
});

const authorizerDimension = [{ Name: SERVICE_DIMENSION, Value: AUTHORIZER_METRICS.service }];

describe('alarms', () => {
  it('on authorizer errors: failing closed (StoreErrors) 5 times in 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: AUTHORIZER_METRICS.storeErrors.name,
      Dimensions: authorizerDimension,
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 5,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('on authorizer latency: p99 duration above 500 ms for three 5-minute periods', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Duration',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, functions.authorizer) } }],
      ExtendedStatistic: 'p99',
      Statistic: Match.absent(),
      Period: 300,
      EvaluationPeriods: 3,
      Threshold: 500,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('takes its thresholds from the construct props', () => {
    const stack = new Stack(testApp(), 'Thresholds');
    const fn = (id: string) =>
      new lambda.Function(stack, id, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {}'),
      });
    new OperationsDashboard(stack, 'Operations', {
      authorizer: fn('Authorizer'),
      auditConsumer: fn('Consumer'),
      authorizerLatencyThreshold: Duration.millis(250),
      authorizerLatencyEvaluationPeriods: 2,
      authorizerErrorsThreshold: 1,
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Duration',
      ExtendedStatistic: 'p99',
      Threshold: 250,
      EvaluationPeriods: 2,
    });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: AUTHORIZER_METRICS.storeErrors.name,
      Statistic: 'Sum',
      Threshold: 1,
    });
  });
});

describe('dashboard', () => {
  /** The dashboard body as JSON, CloudFormation references written `Ref:<id>` / `GetAtt:<id>.<attr>`. */
  function body(): { widgets: { type: string; properties: Json }[] } {
    const [dashboard, ...more] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    if (!dashboard || more.length) throw new Error('expected exactly one dashboard');
    const join = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    const text = join[1]
      .map((part) => {
        if (typeof part === 'string') return part;
        const p = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
        if (p.Ref) return `Ref:${p.Ref}`;
        if (p['Fn::GetAtt']) return `GetAtt:${p['Fn::GetAtt'].join('.')}`;
        throw new Error(`unexpected token ${JSON.stringify(part)}`);
      })
      .join('');
    return JSON.parse(text);
  }

  /** Every graphed metric as `namespace name dim=value,... stat` (dimensions sorted). */
  function graphed(): string[] {
    return body()
      .widgets.filter((w) => w.type === 'metric' && Array.isArray(w.properties.metrics))
      .flatMap((w) => w.properties.metrics as unknown[][])
      .map((m) => {
        const options = (typeof m[m.length - 1] === 'object' ? m[m.length - 1] : {}) as { stat?: string };
        const [namespace, name, ...rest] = m.filter((x) => typeof x === 'string') as string[];
        const dims: string[] = [];
        for (let i = 0; i < rest.length; i += 2) dims.push(`${rest[i]}=${rest[i + 1]}`);
        return `${namespace} ${name} ${dims.sort().join(',')} ${options.stat}`;
      });
  }

  const authorizerMetric = (name: string, stat: string, extra?: string) =>
    `${METRICS_NAMESPACE} ${name} ${[extra, `${SERVICE_DIMENSION}=${AUTHORIZER_METRICS.service}`].filter(Boolean).join(',')} ${stat}`;
  const consumerMetric = (name: string) =>
    `${METRICS_NAMESPACE} ${name} ${SERVICE_DIMENSION}=${AUDIT_CONSUMER_METRICS.service} Sum`;

  it('has a generated name', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: Match.absent() });
    template.hasOutput('DashboardName', {
      Value: { Ref: logicalIdOf(template, 'AWS::CloudWatch::Dashboard', {}) },
    });
  });

  it('graphs allowed, refused and store errors, and refused by every reason', () => {
    const metrics = graphed();
    for (const m of [
      AUTHORIZER_METRICS.allowed,
      AUTHORIZER_METRICS.refused,
      AUTHORIZER_METRICS.storeErrors,
    ]) {
      expect(metrics).toContain(authorizerMetric(m.name, 'Sum'));
    }
    for (const reason of REFUSAL_REASONS) {
      expect(metrics).toContain(
        authorizerMetric(AUTHORIZER_METRICS.refused.name, 'Sum', `${REASON_DIMENSION}=${reason}`),
      );
    }
  });

  it('graphs the authorizer p50/p99 decision latency, its Lambda p99 duration and throttles', () => {
    const metrics = graphed();
    const fn = functionId(template, functions.authorizer);
    expect(metrics).toEqual(
      expect.arrayContaining([
        authorizerMetric(AUTHORIZER_METRICS.decisionLatency.name, 'p50'),
        authorizerMetric(AUTHORIZER_METRICS.decisionLatency.name, 'p99'),
        `AWS/Lambda Duration FunctionName=Ref:${fn} p99`,
        `AWS/Lambda Throttles FunctionName=Ref:${fn} Sum`,
      ]),
    );
  });

  it('graphs the audit consumer: entries written, duplicates skipped, record failures', () => {
    expect(graphed()).toEqual(
      expect.arrayContaining([
        consumerMetric(AUDIT_CONSUMER_METRICS.entriesWritten.name),
        consumerMetric(AUDIT_CONSUMER_METRICS.duplicatesSkipped.name),
        consumerMetric(AUDIT_CONSUMER_METRICS.recordFailures.name),
      ]),
    );
  });

  it('shows every alarm of the stack, the existing ones each with its own graph', () => {
    const alarms = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).sort();
    // Audit DLQ, iterator age, scheduled-run DLQ, and the two authorizer alarms.
    expect(alarms).toHaveLength(5);
    const widgets = body().widgets;
    const status = widgets.filter((w) => w.type === 'alarm');
    expect(status).toHaveLength(1);
    expect([...((status[0]?.properties.alarms ?? []) as string[])].sort()).toEqual(
      alarms.map((id) => `GetAtt:${id}.Arn`),
    );
    const graphedAlarms = widgets
      .filter((w) => w.type === 'metric' && (w.properties.annotations as Json | undefined)?.alarms)
      .flatMap((w) => (w.properties.annotations as { alarms: string[] }).alarms);
    const existing = alarms.filter((id) => !id.startsWith('Operations'));
    expect(graphedAlarms.sort()).toEqual(existing.map((id) => `GetAtt:${id}.Arn`));
    // The iterator-age alarm is the consumer's.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, streamConsumer.fn) } }],
    });
  });
});
