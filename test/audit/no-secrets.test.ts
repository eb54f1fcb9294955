/**
 * No token, secret, secret hash or metadata content appears in any audit item, published event, log
 * line, dead-letter record or audit API response. Everything is captured while a key lives a full
 * life (created with metadata, used, refused, changed, rotated with grace, revoked), then searched.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { routeScopeMap } from '../../lib/declaration';
import { deadLetterRecord } from '../../local/stream-records';
import { fakeDateOnly } from '../support/clock';
import { apiEvent, authorizerEvent, lambdaContext } from '../support/events';
import { streamReader } from '../support/stream';
import { useFreshTables } from '../support/tables';

// Loud logs, set before any logger exists; the handlers are required below for that reason.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());
process.env.EVENT_BUS_NAME = 'latchkey';
process.env.KMS_KEY_ID = 'alias/test';

const captured: string[] = [];
const capture = (...args: unknown[]) => {
  captured.push(
    args
      .map((a) =>
        typeof a === 'string' ? a : a instanceof Uint8Array ? Buffer.from(a).toString() : JSON.stringify(a),
      )
      .join(' '),
  );
};

const METADATA_MARKER = 'metadata-plaintext-7f3a';
const CIPHERTEXT = Buffer.from('opaque-ciphertext-bytes-91c2');
const kms = mockClient(KMSClient);
kms.on(EncryptCommand).resolves({ CiphertextBlob: CIPHERTEXT });
kms.on(DecryptCommand).resolves({ Plaintext: Buffer.from(JSON.stringify({ note: METADATA_MARKER })) });
const eventBridge = mockClient(EventBridgeClient);
eventBridge.on(PutEventsCommand).callsFake((input: unknown) => {
  capture(input);
  return { FailedEntryCount: 0, Entries: [{ EventId: 'x' }] };
});

const api =
  require('../../functions/services/api-keys') as typeof import('../../functions/services/api-keys');
const authorizer =
  require('../../functions/handlers/authorizer') as typeof import('../../functions/handlers/authorizer');
const consumer =
  require('../../functions/handlers/audit-consumer') as typeof import('../../functions/handlers/audit-consumer');
const keyAuditRoute =
  require('../../functions/handlers/management/get-key-audit') as typeof import('../../functions/handlers/management/get-key-audit');
const feedRoute =
  require('../../functions/handlers/management/list-audit') as typeof import('../../functions/handlers/management/list-audit');

beforeAll(async () => {
  await useFreshTables();
});

afterAll(() => {
  jest.useRealTimers();
  kms.restore();
  eventBridge.restore();
});

it('keeps every secret out of audit items, events, logs, dead letters and responses', async () => {
  const names = process.env as Record<string, string>;
  const stream = streamReader(names.KEYS_TABLE_NAME as string);
  const spies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(((chunk: unknown) => {
      capture(chunk);
      return true;
    }) as never),
    jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown) => {
      capture(chunk);
      return true;
    }) as never),
    ...(['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((m) =>
      jest.spyOn(console, m).mockImplementation(capture),
    ),
  ];
  const tokens: string[] = [];
  try {
    const admin = {
      principal: 'arn:aws:iam::123456789012:user/admin',
      source_ip: '203.0.113.1',
      user_agent: 'cli',
    };
    const start = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000;
    fakeDateOnly(start);
    const created = await api.createKey(
      {
        name: 'full-life',
        scopes: ['agents:read'],
        environment: 'development',
        organization_id: 'acme',
        key_type: 'workspace',
        metadata: { note: METADATA_MARKER },
      } as never,
      admin,
    );
    tokens.push(created.key);
    const id = created.record.id;
    const req = (method: string, token?: string) =>
      authorizer.handler(authorizerEvent(method, '/demo/agents', token === undefined ? {} : { token }));
    await req('GET', created.key); // allowed
    await req('POST', created.key).catch(() => undefined); // 403
    await req('GET', `${created.key.slice(0, -1)}${created.key.endsWith('A') ? 'B' : 'A'}`).catch(
      () => undefined,
    ); // bad checksum
    await api.changeKey(
      id,
      { scopes: ['agents:read', 'agents:write'], metadata: { note: `${METADATA_MARKER}-2` } },
      admin,
    );
    const rotated = await api.rotateKey(id, 3600, admin);
    tokens.push(rotated.key);
    await req('GET', created.key); // the previous secret, inside its grace period
    jest.setSystemTime(start + 60_000);
    await req('GET', rotated.key); // next minute: flushes the used entry
    await api.revokeKey(id, admin);
    await req('GET', rotated.key).catch(() => undefined); // 403 revoked

    const records = await stream.next();
    expect(records.length).toBe(4);
    await consumer.handler({ Records: records }, lambdaContext);
    // A poison copy of a real record (its image holds the hashes) fails, is logged, and dead-lettered.
    const poison: DynamoDBRecord = structuredClone(records[2] as DynamoDBRecord);
    poison.eventID = 'poison';
    delete poison.dynamodb?.NewImage?.key_prefix;
    await consumer.handler({ Records: [poison] }, lambdaContext).catch(capture);
    capture(
      deadLetterRecord([poison], {
        requestId: 'r',
        functionArn: 'fn',
        shardId: 's',
        attempts: 6,
        now: new Date(),
      }),
    );

    const db = new DynamoDBClient({});
    const audit = await db.send(new ScanCommand({ TableName: names.AUDIT_TABLE_NAME }));
    db.destroy();
    capture(audit.Items);
    // 4 changes, 3 refusals (403, bad checksum, revoked), 1 used minute.
    expect(audit.Items?.length).toBe(8);
    const res1 = await keyAuditRoute.handler(
      apiEvent('GET', '/v1/api-keys/{id}/audit', { params: { id }, query: { limit: '100' } }),
      lambdaContext,
    );
    const res2 = await feedRoute.handler(
      apiEvent('GET', '/v1/audit', { query: { organization_id: 'acme' } }),
      lambdaContext,
    );
    capture(res1.body, res2.body);
    const names2 = (JSON.parse(res1.body) as { items: { event_name: string }[] }).items.map(
      (i) => i.event_name,
    );
    expect(new Set(names2)).toEqual(
      new Set([
        'admin.api_key_created',
        'admin.api_key_scope_changed',
        'admin.api_key_rotated',
        'admin.api_key_deleted',
        'admin.api_key_denied',
        'admin.api_key_used',
      ]),
    );
  } finally {
    for (const s of spies) s.mockRestore();
    stream.close();
  }

  const haystack = captured.join('\n');
  // The capture really saw logs, events and items.
  expect(haystack).toMatch(/Audit entry recorded/);
  expect(haystack).toMatch(/ApiKeyRotated/);
  expect(haystack).toMatch(/Stream record failed/);
  expect(haystack).toMatch(/admin\.api_key_used/);
  const needles = tokens.flatMap((token) => {
    const secret = token.split('_')[3]?.slice(0, 43) ?? '';
    expect(secret).toHaveLength(43);
    return [token, secret, createHash('sha256').update(secret, 'utf8').digest('hex')];
  });
  needles.push(
    METADATA_MARKER,
    CIPHERTEXT.toString('base64'),
    CIPHERTEXT.toString(),
    'secret_hash',
    'metadata_ciphertext',
  );
  for (const needle of needles) expect(haystack.includes(needle) ? needle : null).toBeNull();
});
