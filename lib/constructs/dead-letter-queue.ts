import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface DeadLetterQueueProps {
  /** What lands here, for the alarm description. */
  readonly purpose: string;
}

/**
 * Where failures go instead of vanishing: an SQS queue kept 14 days (the SQS maximum), encrypted,
 * TLS only, with an alarm on the first message.
 *
 * SQS-managed encryption rather than the stack's key: Lambda and EventBridge deliver here with the
 * sender's own permissions, and a grant on the stack's key would also let them decrypt key metadata.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription: `Latchkey: ${props.purpose} failed and waits in a dead-letter queue`,
      metric: this.queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter queue (a Lambda event-source/async or EventBridge target destination, ' +
        'which nag cannot see); a DLQ of a DLQ would only move the problem.',
    });
  }
}
