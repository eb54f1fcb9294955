/**
 * The keys table's stream → the audit trail and the `latchkey` bus (docs/audit-and-events.md). Records are handled
 * one at a time, in order; a record that fails is reported in `batchItemFailures` (by sequence
 * number) while the others are still written. Lambda retries from the first failure, bisects a batch
 * that keeps failing and sends what still fails to the dead-letter destination (settings in
 * `streamConsumer`, `lib/declaration.ts`). Writes are conditional on the stream record, so a retried
 * record is never written twice; a batch in which every record failed throws, so Lambda retries it.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { recordChange } from '../services/audit';
import { logger } from '../shared/logger';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>()
  // Never log the event: stream images carry hashes (explicit, so POWERTOOLS_LOGGER_LOG_EVENT cannot turn it on).
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler(async (event, context) => {
    const response = await processPartialResponse(event, recordChange, processor, {
      context,
      processInParallel: false,
    });
    if (response.batchItemFailures.length) {
      logger.warn('Stream records failed', {
        failed: response.batchItemFailures.map((f) => f.itemIdentifier),
        batch_size: event.Records.length,
      });
    }
    return response;
  });
