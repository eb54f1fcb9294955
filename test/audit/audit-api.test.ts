/** GET /v1/api-keys/{id}/audit and GET /v1/audit: newest first, paginated, filtered through indexes. */
import type { AuditEntry } from '../../functions/domain/audit';
import { handler as getKeyAudit } from '../../functions/handlers/management/get-key-audit';
import { handler as listAudit } from '../../functions/handlers/management/list-audit';
import { putAuditEntry } from '../../functions/repositories/audit-repository';
import { dynamodb } from '../../functions/shared/clients';
import { apiEvent, lambdaContext } from '../support/events';
import { newTestKey } from '../support/keys';
import { useFreshTables } from '../support/tables';

const alice = 'arn:aws:iam::123456789012:user/alice';
const bob = 'arn:aws:iam::123456789012:user/bob';
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute)).toISOString();
let keyA: string;
let keyB: string;

interface Listing {
  items: Array<{ event_id: string; event_name: string; key_id: string; actor: string; timestamp: string }>;
  next_token: string | null;
}

async function call(h: typeof listAudit, event: ReturnType<typeof apiEvent>) {
  const res = await h(event, lambdaContext);
  return {
    status: res.statusCode,
    body: JSON.parse(res.body) as Listing & { error?: { details: unknown[] } },
  };
}

const keyAudit = (id: string, query?: Record<string, string>) =>
  call(
    getKeyAudit,
    apiEvent('GET', '/v1/api-keys/{id}/audit', { params: { id }, ...(query ? { query } : {}) }),
  );
const feed = (query: Record<string, string>) => call(listAudit, apiEvent('GET', '/v1/audit', { query }));

/** Every page of a listing, following next_token. */
async function all(fetch: (token?: string) => ReturnType<typeof feed>): Promise<Listing['items'][]> {
  const pages: Listing['items'][] = [];
  let token: string | undefined;
  do {
    const { status, body } = await fetch(token);
    expect(status).toBe(200);
    pages.push(body.items);
    token = body.next_token ?? undefined;
  } while (token && pages.length < 50);
  return pages;
}

function entry(n: number, key: string, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    event_id: `e${String(n).padStart(3, '0')}`,
    event_name: n % 3 === 0 ? 'admin.api_key_scope_changed' : 'admin.api_key_updated',
    key_id: key,
    key_prefix: `sk_dev_${key}`,
    actor: n % 2 === 0 ? alice : bob,
    organization_id: 'audited',
    changes: {},
    details: {},
    timestamp: at(n),
    ...over,
  };
}

beforeAll(async () => {
  await useFreshTables();
  const make = async () => (await newTestKey('k', {}, { principal: alice })).record.id;
  keyA = await make();
  keyB = await make();
  // 20 entries for A, 10 for B, interleaved in time; 5 in another organization. (Organizations the
  // test tenancy does not seed, so no seed entries share their feeds.)
  for (let n = 0; n < 30; n++) await putAuditEntry(entry(n, n % 3 === 2 ? keyB : keyA));
  for (let n = 30; n < 35; n++) await putAuditEntry(entry(n, keyA, { organization_id: 'elsewhere' }));
});

describe('GET /v1/api-keys/{id}/audit', () => {
  it('returns the key history newest first, page by page, each entry once', async () => {
    const pages = await all((token) =>
      keyAudit(keyB, { limit: '4', ...(token ? { next_token: token } : {}) }),
    );
    expect(pages.map((p) => p.length)).toEqual([4, 4, 2]);
    const stamps = pages.flat().map((i) => i.timestamp);
    expect(stamps).toEqual([...stamps].sort().reverse());
    expect(new Set(pages.flat().map((i) => i.event_id)).size).toBe(10);
    expect(pages.flat().every((i) => i.key_id === keyB)).toBe(true);
    expect(pages.flat()[0]).not.toHaveProperty('pk');
  });

  it('answers 404 for an unknown or impossible key id, and 400 for a foreign next_token', async () => {
    expect((await keyAudit('abcDEF012345')).status).toBe(404);
    expect((await keyAudit('not a key')).status).toBe(404);
    const { body } = await keyAudit(keyA, { limit: '2' });
    expect(body.next_token).toBeTruthy();
    const foreign = await keyAudit(keyB, { next_token: body.next_token as string });
    expect(foreign.status).toBe(400);
    expect((await keyAudit(keyA, { next_token: 'garbage' })).status).toBe(400);
    expect((await keyAudit(keyA, { limit: '0' })).status).toBe(400);
  });
});

describe('GET /v1/audit', () => {
  it('lists one organization newest first through the index, never a Scan', async () => {
    const commands: string[] = [];
    const realSend = dynamodb.send.bind(dynamodb) as (c: unknown) => Promise<unknown>;
    const spy = jest.spyOn(dynamodb, 'send').mockImplementation(((c: { constructor: { name: string } }) => {
      commands.push(c.constructor.name);
      return realSend(c);
    }) as never);
    try {
      const pages = await all((token) =>
        feed({ organization_id: 'audited', limit: '7', ...(token ? { next_token: token } : {}) }),
      );
      const items = pages.flat();
      expect(items).toHaveLength(30);
      expect(items.map((i) => i.timestamp)).toEqual(
        items
          .map((i) => i.timestamp)
          .sort()
          .reverse(),
      );
    } finally {
      spy.mockRestore();
    }
    // Queries for the listing; the access check reads single items (GetItem) and one partition.
    expect(commands).toContain('QueryCommand');
    expect(commands).not.toContain('ScanCommand');
    expect((await feed({ organization_id: 'elsewhere' })).body.items).toHaveLength(5);
  });

  it('filters by event name, key, actor and time range, and pages through sparse matches', async () => {
    const byName = (
      await all((t) =>
        feed({
          event_name: 'admin.api_key_scope_changed',
          organization_id: 'audited',
          limit: '3',
          ...(t ? { next_token: t } : {}),
        }),
      )
    ).flat();
    expect(byName.map((i) => i.event_id)).toEqual([
      'e027',
      'e024',
      'e021',
      'e018',
      'e015',
      'e012',
      'e009',
      'e006',
      'e003',
      'e000',
    ]);
    const byKey = (
      await all((t) =>
        feed({ organization_id: 'audited', key_id: keyB, limit: '3', ...(t ? { next_token: t } : {}) }),
      )
    ).flat();
    expect(byKey).toHaveLength(10);
    expect(byKey.every((i) => i.key_id === keyB)).toBe(true);
    // A key's partition is still limited to the organization asked for.
    expect((await feed({ organization_id: 'elsewhere', key_id: keyB })).body.items).toHaveLength(0);
    const byActor = (await feed({ organization_id: 'audited', actor: alice, limit: '100' })).body.items;
    expect(byActor).toHaveLength(15);
    expect(byActor.every((i) => i.actor === alice)).toBe(true);
    const range = (await feed({ organization_id: 'audited', from: at(10), to: at(14) })).body.items;
    expect(range.map((i) => i.event_id)).toEqual(['e014', 'e013', 'e012', 'e011', 'e010']);
    const combined = (
      await feed({
        organization_id: 'audited',
        from: at(10),
        to: '2030-01-01T01:20:00+01:00',
        actor: bob,
        key_id: keyA,
      })
    ).body.items;
    expect(combined.map((i) => i.event_id)).toEqual(['e019', 'e015', 'e013']);
    expect((await feed({ organization_id: 'audited', to: at(1) })).body.items.map((i) => i.event_id)).toEqual(
      ['e001', 'e000'],
    );
  });

  it('validates its query', async () => {
    expect((await feed({ event_name: 'admin.nope' })).status).toBe(400);
    expect((await feed({ from: 'yesterday' })).status).toBe(400);
    expect((await feed({ from: at(5), to: at(1) })).status).toBe(400);
    expect((await feed({ unknown: 'x' })).status).toBe(400);
    expect((await feed({ key_id: 'short' })).status).toBe(400);
    // A token from one range cannot read outside another.
    const { body } = await feed({ organization_id: 'audited', limit: '1' });
    expect(
      (await feed({ organization_id: 'audited', to: at(3), next_token: body.next_token as string })).status,
    ).toBe(400);
    expect((await feed({ organization_id: 'elsewhere', next_token: body.next_token as string })).status).toBe(
      400,
    );
    // organization_id defaults to `default`, whose only entry here is the seed's.
    expect((await feed({})).body).toEqual({
      items: [
        expect.objectContaining({ event_name: 'admin.organization_created', organization_id: 'default' }),
      ],
      next_token: null,
    });
  });
});
