/**
 * The keys table's stream → the audit trail, the `latchkey` bus (docs/audit-and-events.md) and the
 * registry's aggregates (docs/analytics.md). Records are handled
 * one at a time, in order; a record that fails is reported in `batchItemFailures` (by sequence
 * number) while the others are still written. Lambda retries from the first failure, bisects a batch
 * that keeps failing and sends what still fails to the dead-letter destination (settings in
 * `streamConsumer`, `lib/declaration.ts`). Writes are conditional on the stream record, so a retried
 * record is never written twice; a batch in which every record failed throws, so Lambda retries it.
 * Each batch emits entries written, duplicates skipped and failures as one EMF line (docs/operations.md).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { recordChange } from '../services/audit';
import { recordKeyStats } from '../services/key-stats';
import { logger } from '../shared/logger';
import { recordAuditBatch } from '../shared/metrics';
import { CAPTURE_HANDLER_OPTIONS, tracer } from '../shared/tracer';

const processor = new BatchProcessor(EventType.DynamoDBStreams);

export const handler = middy<DynamoDBStreamEvent, DynamoDBBatchResponse, Error, Context>()
  .use(captureLambdaHandler(tracer, CAPTURE_HANDLER_OPTIONS))
  // Never log the event: stream images carry hashes (explicit, so POWERTOOLS_LOGGER_LOG_EVENT cannot turn it on).
  .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
  .handler(async (event, context) => {
    const counts = { written: 0, duplicates: 0, failed: 0 };
    const handleRecord = async (record: DynamoDBRecord): Promise<void> => {
      try {
        const outcome = await recordChange(record);
        // The overview's aggregates (docs/analytics.md): idempotent too, so a retry redoes nothing.
        await recordKeyStats(record);
        if (outcome === 'written') counts.written++;
        else if (outcome === 'duplicate') counts.duplicates++;
      } catch (error) {
        counts.failed++;
        throw error;
      }
    };
    try {
      const response = await processPartialResponse(event, handleRecord, processor, {
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
    } finally {
      // Also when every record failed and the batch throws.
      recordAuditBatch(counts);
    }
  });
