import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { METADATA_CONTEXT_KEY } from '../access-model';
import { streamConsumer } from '../declaration';
import { DeadLetterQueue } from './dead-letter-queue';
import type { LatchkeyFunction } from './latchkey-function';

export interface AuditStreamProps {
  /** The table whose stream is consumed (the keys table). */
  readonly table: dynamodb.ITable;
  /** The audit consumer. */
  readonly consumer: LatchkeyFunction;
  /**
   * Stream settings.
   * @default streamConsumer from lib/declaration.ts
   */
  readonly settings?: typeof streamConsumer;
  /**
   * Alarm when the oldest unprocessed record is older than this.
   * @default Duration.minutes(5)
   */
  readonly iteratorAgeThreshold?: Duration;
}

/**
 * The keys table's stream feeding the audit consumer (docs/audit-and-events.md): partial batch failures reported,
 * poison batches bisected, retries bounded, and what still fails kept in a dead-letter queue.
 */
export class AuditStream extends Construct {
  readonly deadLetterQueue: DeadLetterQueue;
  readonly iteratorAgeAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AuditStreamProps) {
    super(scope, id);
    const s = props.settings ?? streamConsumer;
    const fn = props.consumer.function;
    this.deadLetterQueue = new DeadLetterQueue(this, 'DeadLetters', { purpose: 'an audit stream batch' });

    fn.addEventSource(
      new DynamoEventSource(props.table, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: s.batchSize,
        maxBatchingWindow: Duration.seconds(s.maxBatchingWindowSeconds),
        retryAttempts: s.retryAttempts,
        bisectBatchOnError: s.bisectBatchOnError,
        reportBatchItemFailures: s.reportBatchItemFailures,
        onFailure: new SqsDlq(this.deadLetterQueue.queue),
      }),
    );
    // Reading an encrypted stream needs kms:Decrypt on the table key, which is also the metadata key.
    // The consumer never needs to decrypt metadata, so that use of the key is denied outright.
    const key = props.table.encryptionKey;
    if (key) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          effect: iam.Effect.DENY,
          actions: ['kms:Decrypt'],
          resources: [key.keyArn],
          conditions: { 'ForAnyValue:StringEquals': { 'kms:EncryptionContextKeys': METADATA_CONTEXT_KEY } },
        }),
      );
    }

    const threshold = props.iteratorAgeThreshold ?? Duration.minutes(5);
    this.iteratorAgeAlarm = new cloudwatch.Alarm(this, 'IteratorAgeAlarm', {
      alarmDescription: `Latchkey: the audit stream consumer is more than ${threshold.toHumanString()} behind`,
      metric: fn.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: threshold.toMilliseconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    Validations.of(props.consumer).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Besides X-Ray: dynamodb:ListStreams supports no resource-level permission, and Lambda checks for it when ' +
        'it creates the event source mapping.',
    });
  }
}
