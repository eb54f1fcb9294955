/**
 * The audit consumer against real stream records from DynamoDB Local: keys are changed with the
 * real service code, the keys table's stream is read back and handed to the handler as Lambda would,
 * and what it publishes lands on the local stack's EventBridge bus (`stack.events()`). The cases
 * that need an injected failure (a write, a publish) are in `audit-consumer-errors.test.ts`.
 */
import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { changeKey, revokeKey, rotateKey } from '../../functions/services/api-keys';
import { deadLetterRecord } from '../../local/stream-records';
import { useConsumerHarness } from '../support/audit-consumer';
import { newTestKey, TEST_ACTOR } from '../support/keys';

const actor = TEST_ACTOR;
// Configured as ops would (latchkey:auditRetentionDays), through the same contract as on AWS.
const h = useConsumerHarness({ config: { auditRetentionDays: 30 } });
const { auditItems, eventsFor, run } = h;
const newKey = (name = 'consumer') => newTestKey(name);

describe('audit consumer', () => {
  it('writes exactly one entry per change and publishes created/rotated/revoked', async () => {
    const { record } = await newKey();
    await changeKey(record.id, { name: 'renamed' }, actor);
    await changeKey(record.id, { scopes: ['agents:read', 'agents:write'], description: 'more' }, actor);
    await rotateKey(record.id, 3600, actor);
    await revokeKey(record.id, actor);
    await revokeKey(record.id, actor); // repeating a revoke changes nothing, so audits nothing
    const records = await h.stream.next();
    expect(records).toHaveLength(5);

    expect(await run(records)).toEqual({ batchItemFailures: [] });
    const items = await auditItems();
    expect(items.map((i) => i.event_name).sort()).toEqual(
      [
        'admin.api_key_created',
        'admin.api_key_updated',
        'admin.api_key_scope_changed',
        'admin.api_key_rotated',
        'admin.api_key_deleted',
      ].sort(),
    );
    const scope = items.find((i) => i.event_name === 'admin.api_key_scope_changed');
    expect(scope).toMatchObject({
      pk: `KEY#${record.id}`,
      key_id: record.id,
      actor: actor.principal,
      organization_id: 'acme',
      workspace_id: 'default',
      source_ip: '203.0.113.5',
      user_agent: 'aws-cli/2',
      request_id: 'req-1',
      changes: {
        scopes: { before: ['agents:read'], after: ['agents:read', 'agents:write'] },
        description: { before: null, after: 'more' },
      },
    });
    for (const i of items) {
      expect(i.sk).toBe(`${i.timestamp}#${i.event_id}`);
      expect(i.ttl).toBe(Math.floor(Date.parse(String(i.timestamp)) / 1000) + 30 * 86_400);
    }
    const published = eventsFor(record.id);
    expect(published.map((e) => e['detail-type'])).toEqual([
      'ApiKeyCreated',
      'ApiKeyRotated',
      'ApiKeyRevoked',
    ]);
    const ids = published.map((e) => (e.detail as { event_id: string }).event_id);
    expect(ids).toEqual(
      ['admin.api_key_created', 'admin.api_key_rotated', 'admin.api_key_deleted'].map(
        (n) => items.find((i) => i.event_name === n)?.event_id,
      ),
    );
    expect(published.every((e) => e.source === 'latchkey' && e['event-bus-name'] === 'latchkey')).toBe(true);
    expect(published[0]?.detail).toMatchObject({
      key_id: record.id,
      key_prefix: record.key_prefix,
      name: 'consumer',
      organization_id: 'acme',
      environment: 'development',
      key_type: 'workspace',
    });

    // The same batch again (a retry): no entry is doubled; events repeat with the same ids (at least once).
    expect(await run(records)).toEqual({ batchItemFailures: [] });
    expect(await auditItems()).toHaveLength(5);
    expect(eventsFor(record.id).map((e) => (e.detail as { event_id: string }).event_id)).toEqual([
      ...ids,
      ...ids,
    ]);
  });

  it('reports a poison record without blocking the records after it', async () => {
    const { record } = await newKey('poison');
    await changeKey(record.id, { name: 'after-poison' }, actor);
    const [good1, good2] = await h.stream.next();
    if (!good1 || !good2) throw new Error('expected two records');
    const poison: DynamoDBRecord = structuredClone(good1);
    poison.eventID = 'poison-1';
    if (poison.dynamodb) {
      poison.dynamodb.SequenceNumber = '1';
      delete poison.dynamodb.NewImage?.id;
    }
    const out = await run([poison, good1, good2]);
    expect(out).toEqual({ batchItemFailures: [{ itemIdentifier: '1' }] });
    expect((await auditItems()).map((i) => i.event_id).sort()).toEqual([good1.eventID, good2.eventID].sort());
    expect(eventsFor(record.id).map((e) => e['detail-type'])).toEqual(['ApiKeyCreated']);

    // A batch of nothing but poison fails as a whole, so Lambda retries, bisects and finally dead-letters it.
    await expect(run([poison])).rejects.toThrow(/All records failed/);
    const dlq = deadLetterRecord([poison], {
      requestId: 'r',
      functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:AuditConsumer',
      shardId: 'shard-1',
      attempts: 6,
      now: new Date(),
    });
    expect(dlq.DDBStreamBatchInfo).toMatchObject({
      startSequenceNumber: '1',
      endSequenceNumber: '1',
      batchSize: 1,
    });
    expect(JSON.stringify(dlq)).not.toMatch(/NewImage|OldImage|secret_hash/);
  });

  it('skips stream records that are not admin changes', async () => {
    const { record } = await newKey('skips');
    // A write that does not restamp last_change (e.g. last_used_at), then a REMOVE (TTL or maintenance).
    await h.db.send(
      new UpdateItemCommand({
        TableName: h.stack.tables.KEYS_TABLE_NAME,
        Key: { id: { S: record.id } },
        UpdateExpression: 'SET last_used_at = :t',
        ExpressionAttributeValues: { ':t': { S: new Date().toISOString() } },
      }),
    );
    await h.db.send(
      new DeleteItemCommand({ TableName: h.stack.tables.KEYS_TABLE_NAME, Key: { id: { S: record.id } } }),
    );
    const records = await h.stream.next();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'REMOVE']);
    expect(await run(records)).toEqual({ batchItemFailures: [] });
    expect((await auditItems()).map((i) => i.event_name)).toEqual(['admin.api_key_created']);
    expect(eventsFor(record.id).map((e) => e['detail-type'])).toEqual(['ApiKeyCreated']);
  });
});
