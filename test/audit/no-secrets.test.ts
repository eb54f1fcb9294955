/**
 * No token, secret, secret hash or metadata content appears in any audit item, published event, log
 * line, dead-letter record or audit API response. Everything is captured while a key lives a full
 * life (created with metadata, used, refused, changed, rotated with grace, revoked), then searched.
 *
 * All of it runs against a real local stack: metadata is encrypted by the local KMS endpoint (so the
 * keys table holds real ciphertext, searched for too), the consumer publishes to the local bus (the
 * events searched are what `stack.events()` received), the consumer is fed the keys table's real
 * stream records from DynamoDB Local, and the audit API is read through the signed gateway.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { routeScopeMap } from '../../lib/declaration';
import type { LocalStack } from '../../local/stack';
import { deadLetterRecord } from '../../local/stream-records';
import { fakeDateOnly } from '../support/clock';
import { authorizerEvent, lambdaContext } from '../support/events';
import { type HttpResponse, sendSigned, startTestStack } from '../support/local-stack';
import { streamReader } from '../support/stream';

// Loud logs, set before any logger exists; the handlers are required below for that reason. The
// authorizer reads its route map when loaded, before the stack (which sets it too) starts.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
process.env.POWERTOOLS_LOGGER_LOG_EVENT = 'true';
process.env.LATCHKEY_ROUTE_SCOPES = JSON.stringify(routeScopeMap());

/** Binary values (Uint8Array, Buffer) are captured as base64, so ciphertext bytes are searchable. */
function bytesAsBase64(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  const v = value as { type?: unknown; data?: unknown } | null;
  if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data))
    return Buffer.from(v.data as number[]).toString('base64');
  return value;
}

const captured: string[] = [];
const capture = (...args: unknown[]) => {
  captured.push(
    args
      .map((a) =>
        typeof a === 'string'
          ? a
          : a instanceof Uint8Array
            ? Buffer.from(a).toString()
            : JSON.stringify(a, bytesAsBase64),
      )
      .join(' '),
  );
};

const METADATA_MARKER = 'metadata-plaintext-7f3a';

const api =
  require('../../functions/services/api-keys') as typeof import('../../functions/services/api-keys');
const authorizer =
  require('../../functions/handlers/authorizer') as typeof import('../../functions/handlers/authorizer');
const consumer =
  require('../../functions/handlers/audit-consumer') as typeof import('../../functions/handlers/audit-consumer');
const { decryptMetadata } =
  require('../../functions/repositories/metadata-cipher') as typeof import('../../functions/repositories/metadata-cipher');

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  jest.useRealTimers();
  await stack?.stop();
});

it('keeps every secret out of audit items, events, logs, dead letters and responses', async () => {
  const admin = stack.credentials[0];
  if (!admin) throw new Error('no local principal');
  const stream = streamReader(stack.tables.KEYS_TABLE_NAME as string);
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
  const ciphertexts = new Set<string>(); // base64, as the stream records carry binary attributes
  let id = '';
  try {
    const actor = {
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
      actor,
    );
    tokens.push(created.key);
    id = created.record.id;
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
      actor,
    );
    const rotated = await api.rotateKey(id, 3600, actor);
    tokens.push(rotated.key);
    await req('GET', created.key); // the previous secret, inside its grace period
    jest.setSystemTime(start + 60_000);
    await req('GET', rotated.key); // next minute: flushes the used entry
    await api.revokeKey(id, actor);
    await req('GET', rotated.key).catch(() => undefined); // 403 revoked

    const records = await stream.next();
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY', 'MODIFY']);
    for (const r of records) {
      const blob = r.dynamodb?.NewImage?.metadata_ciphertext?.B;
      if (blob) ciphertexts.add(blob);
    }
    // The local KMS made the ciphertext: one per metadata version (creation, change).
    expect(ciphertexts.size).toBe(2);
    expect(await consumer.handler({ Records: records }, lambdaContext)).toEqual({ batchItemFailures: [] });
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

    // What the consumer put on the local bus, as a rule target would receive it.
    const events = stack.events();
    capture(events);
    expect(
      events
        .filter((e) => (e.detail as { key_id?: string } | null)?.key_id === id)
        .map((e) => e['detail-type']),
    ).toEqual(['ApiKeyCreated', 'ApiKeyRotated', 'ApiKeyRevoked']);

    const db = new DynamoDBClient({});
    const audit = await db.send(
      new ScanCommand({ TableName: stack.tables.AUDIT_TABLE_NAME, ConsistentRead: true }),
    );
    db.destroy();
    capture(audit.Items);
    // 4 changes, 3 refusals (403, bad checksum, revoked), 1 used minute; the others are the admin
    // seed's (organizations, bindings: `ORG#` partitions, docs/tenancy.md), checked for secrets too.
    expect(audit.Items?.filter((i) => !i.pk?.S?.startsWith('ORG#')).length).toBe(8);

    // The audit API, through the signed gateway.
    const read = async (path: string, query: string): Promise<HttpResponse> => {
      const res = await sendSigned(stack.url, { principal: admin, path, query });
      capture(res.text, res.headers);
      expect(res.status).toBe(200);
      return res;
    };
    const res1 = await read(`/v1/api-keys/${id}/audit`, 'limit=100');
    const res2 = await read('/v1/audit', 'organization_id=acme');
    const byKey = res1.json<{ items: { event_name: string }[] }>().items.map((i) => i.event_name);
    expect(new Set(byKey)).toEqual(
      new Set([
        'admin.api_key_created',
        'admin.api_key_scope_changed',
        'admin.api_key_rotated',
        'admin.api_key_deleted',
        'admin.api_key_denied',
        'admin.api_key_used',
      ]),
    );
    // The feed holds every entry of the organization (the bad-checksum refusal names none).
    // (Besides the key's 7, the admin seed's entries about acme itself.)
    const inAcme = (audit.Items ?? []).filter((i) => i.organization_id?.S === 'acme');
    expect(inAcme.filter((i) => i.pk?.S?.startsWith('KEY#'))).toHaveLength(7);
    const acme = inAcme.map((i) => i.event_id?.S);
    expect(
      res2
        .json<{ items: { event_id: string }[] }>()
        .items.map((i) => i.event_id)
        .sort(),
    ).toEqual(acme.sort());
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
  needles.push(METADATA_MARKER, 'secret_hash', 'metadata_ciphertext');
  for (const blob of ciphertexts) {
    const bytes = Buffer.from(blob, 'base64');
    needles.push(blob, bytes.toString('base64url'), bytes.toString('hex'));
  }
  for (const needle of needles) expect(haystack.includes(needle) ? needle : null).toBeNull();

  // The needles are real ciphertext: they decrypt, with the key's context, to the metadata.
  const plaintexts = await Promise.all(
    [...ciphertexts].map((b) =>
      decryptMetadata(Buffer.from(b, 'base64'), { key_id: id, organization_id: 'acme' }),
    ),
  );
  expect(plaintexts).toEqual([{ note: METADATA_MARKER }, { note: `${METADATA_MARKER}-2` }]);
  for (const b of ciphertexts) expect(Buffer.from(b, 'base64').includes(METADATA_MARKER)).toBe(false);
});
