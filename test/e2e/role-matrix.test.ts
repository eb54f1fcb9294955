/**
 * The role matrix (docs/tenancy.md#the-role-matrix) end to end: every role × key type × action
 * through the local gateway, signed by the local principals `npm start` binds, against the outcome
 * written out below (not computed by the code under test). Every refusal must change nothing and
 * leave one audit entry saying what refused it.
 *
 * Key types are places a key lives in, seen from the bound principals (all bound in `acme`):
 * `ws` a workspace key in acme/acme-prod (the workspace admin's workspace), `ws2` a workspace key in
 * acme/default, `org` an organization key of acme, `sys` a system key of acme, `foreign` a workspace
 * key of another organization, `beta`.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { KeyType } from '../../functions/domain/api-key';
import { createKey } from '../../functions/services/api-keys';
import { dynamodb } from '../../functions/shared/clients';
import { generateCredentials, type LocalPrincipal, principal } from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { sendSigned, startTestStack } from '../support/local-stack';
import { snapshot } from '../support/management';
import { seedTestTenancy } from '../support/tenancy';

type Outcome = 'ok' | 403 | 404;
const ACTIONS = ['create', 'list', 'get', 'usage', 'audit', 'update', 'rotate', 'revoke'] as const;
type Action = (typeof ACTIONS)[number];
const TARGETS = ['ws', 'ws2', 'org', 'sys', 'foreign'] as const;
type Target = (typeof TARGETS)[number];
type Row = readonly [Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome];

/**
 * For `list`, `ok` means the key is in the caller's listing and 404 that it is not; for `create`,
 * `ok` means the caller may create a key of that type in that place.
 */
// biome-ignore format: the matrix is read as a table
const MATRIX: Readonly<Record<string, Readonly<Record<Target, Row>>>> = {
  //         create list  get   usage audit update rotate revoke
  'super-admin': {
    ws:      ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    ws2:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    org:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    sys:     [403,  'ok', 'ok', 'ok', 'ok', 403,  403,  403],
    foreign: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  },
  'super-admin in root mode': {
    ws:      ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    ws2:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    org:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    sys:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    foreign: ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
  },
  'org-owner': {
    ws:      ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    ws2:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    org:     ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    sys:     [403,  'ok', 'ok', 'ok', 'ok', 403,  403,  403],
    foreign: [403,  404,  404,  404,  404,  404,  404,  404],
  },
  'workspace-admin': {
    ws:      ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok'],
    ws2:     [403,  404,  404,  404,  404,  404,  404,  404],
    org:     [403,  404,  404,  404,  404,  404,  404,  404],
    sys:     [403,  404,  404,  404,  404,  404,  404,  404],
    foreign: [403,  404,  404,  404,  404,  404,  404,  404],
  },
  auditor: {
    ws:      [403,  'ok', 'ok', 'ok', 'ok', 403,  403,  403],
    ws2:     [403,  'ok', 'ok', 'ok', 'ok', 403,  403,  403],
    org:     [403,  'ok', 'ok', 'ok', 'ok', 403,  403,  403],
    sys:     [403,  'ok', 'ok', 'ok', 'ok', 403,  403,  403],
    foreign: [403,  404,  404,  404,  404,  404,  404,  404],
  },
  member: {
    ws:      [403,  404,  404,  404,  404,  404,  404,  404],
    ws2:     [403,  404,  404,  404,  404,  404,  404,  404],
    org:     [403,  404,  404,  404,  404,  404,  404,  404],
    sys:     [403,  404,  404,  404,  404,  404,  404,  404],
    foreign: [403,  404,  404,  404,  404,  404,  404,  404],
  },
  unbound: {
    ws:      [403,  403,  403,  403,  403,  403,  403,  403],
    ws2:     [403,  403,  403,  403,  403,  403,  403,  403],
    org:     [403,  403,  403,  403,  403,  403,  403,  403],
    sys:     [403,  403,  403,  403,  403,  403,  403,  403],
    foreign: [403,  403,  403,  403,  403,  403,  403,  403],
  },
};

/** Where each target lives, and what a key there is. */
const PLACES: Readonly<Record<Target, { org: string; ws?: string; type: KeyType; scopes: string[] }>> = {
  ws: { org: 'acme', ws: 'acme-prod', type: 'workspace', scopes: ['agents:read'] },
  ws2: { org: 'acme', ws: 'default', type: 'workspace', scopes: ['agents:read'] },
  org: { org: 'acme', type: 'organization', scopes: ['metrics:read'] },
  sys: { org: 'acme', type: 'system', scopes: ['system:read'] },
  foreign: { org: 'beta', ws: 'default', type: 'workspace', scopes: ['agents:read'] },
};

let stack: LocalStack;
const principals = new Map<string, LocalPrincipal>();
let tables: string[];

beforeAll(async () => {
  const credentials = generateCredentials();
  // A principal the gateway knows (it signs correctly) that no binding names.
  const stranger = principal('stranger');
  stack = await startTestStack({
    credentials: { ...credentials, principals: [...credentials.principals, stranger] },
  });
  await seedTestTenancy({ organizations: [{ organization_id: 'beta', name: 'Beta' }] });
  for (const p of stack.credentials) principals.set(p.name, p);
  principals.set('super-admin in root mode', principals.get('super-admin') as LocalPrincipal);
  principals.set('unbound', stranger);
  tables = [stack.tables.KEYS_TABLE_NAME as string, stack.tables.ADMIN_TABLE_NAME as string];
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

interface Reply {
  status: number;
  requestId: string;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  body: any;
}

async function call(who: LocalPrincipal, method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await sendSigned(stack.url, {
    principal: who,
    method,
    path: path.split('?')[0] as string,
    query: path.split('?')[1] ?? '',
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, requestId: String(res.headers['x-amzn-requestid']), body: res.json() };
}

let serial = 0;
/** A fresh key at `target` (made by the service directly: fixtures need no authorization). */
async function fixture(target: Target): Promise<string> {
  const p = PLACES[target];
  const { record } = await createKey(
    {
      name: `fixture-${target}-${serial++}`,
      scopes: p.scopes,
      environment: 'development',
      organization_id: p.org,
      ...(p.ws ? { workspace_id: p.ws } : {}),
      key_type: p.type,
    },
    { principal: 'latchkey:test' },
  );
  return record.id;
}

/** The request of `action` on key `id` (or, for create, a new key at `target`). */
function request(action: Action, target: Target, id: string): [string, string, unknown?] {
  const p = PLACES[target];
  switch (action) {
    case 'create':
      return [
        'POST',
        '/v1/api-keys',
        {
          name: `created-${target}-${serial++}`,
          scopes: p.scopes,
          organization_id: p.org,
          ...(p.ws ? { workspace_id: p.ws } : {}),
          key_type: p.type,
        },
      ];
    case 'list':
      return ['GET', '/v1/api-keys?limit=100'];
    case 'get':
      return ['GET', `/v1/api-keys/${id}`];
    case 'usage':
      return ['GET', `/v1/api-keys/${id}/usage`];
    case 'audit':
      return ['GET', `/v1/api-keys/${id}/audit`];
    case 'update':
      return ['PATCH', `/v1/api-keys/${id}`, { name: 'renamed' }];
    case 'rotate':
      return ['POST', `/v1/api-keys/${id}/rotate`, {}];
    case 'revoke':
      return ['DELETE', `/v1/api-keys/${id}`];
  }
}

/** Every id in the caller's listing (all pages), or the refusal. */
async function listed(who: LocalPrincipal): Promise<{ status: number; ids: Set<string>; reply: Reply }> {
  const ids = new Set<string>();
  let path = '/v1/api-keys?limit=100';
  for (;;) {
    const reply = await call(who, 'GET', path);
    if (reply.status !== 200) return { status: reply.status, ids, reply };
    for (const k of reply.body.items as { id: string; requires_root_mode: boolean; key_type: string }[]) {
      ids.add(k.id);
      // System keys are marked in every listing.
      expect(k.requires_root_mode).toBe(k.key_type === 'system');
    }
    if (!reply.body.next_token) return { status: 200, ids, reply };
    path = `/v1/api-keys?limit=100&next_token=${encodeURIComponent(reply.body.next_token)}`;
  }
}

async function refusalEntry(requestId: string): Promise<Record<string, unknown> | undefined> {
  const out = await dynamodb.send(
    new ScanCommand({
      TableName: stack.tables.AUDIT_TABLE_NAME,
      FilterExpression: 'request_id = :r',
      ExpressionAttributeValues: { ':r': requestId },
      ConsistentRead: true,
    }),
  );
  return out.Items?.[0];
}

async function runRow(role: string): Promise<string[]> {
  const who = principals.get(role) as LocalPrincipal;
  const mismatches: string[] = [];
  for (const target of TARGETS) {
    const expected = MATRIX[role]?.[target] as Row;
    const id = await fixture(target);
    for (const [i, action] of ACTIONS.entries()) {
      const want = expected[i] as Outcome;
      let got: Outcome;
      let reply: Reply;
      const before = await snapshot(tables);
      if (action === 'list') {
        const out = await listed(who);
        reply = out.reply;
        got = out.status === 200 ? (out.ids.has(id) ? 'ok' : 404) : (out.status as Outcome);
        if (out.status === 200) {
          mismatches.push(...(got === want ? [] : [`${role} ${target} ${action}: got ${got}, want ${want}`]));
          continue;
        }
      } else {
        const [method, path, body] = request(action, target, id);
        reply = await call(who, method, path, body);
        got = reply.status >= 200 && reply.status < 300 ? 'ok' : (reply.status as Outcome);
      }
      if (got !== want) {
        mismatches.push(
          `${role} ${target} ${action}: got ${reply.status} ${JSON.stringify(reply.body)}, want ${want}`,
        );
        continue;
      }
      if (got === 'ok') continue;
      // A refusal changes nothing and is audited with what refused it.
      expect([role, target, action, (await snapshot(tables)) === before]).toEqual([
        role,
        target,
        action,
        true,
      ]);
      const entry = await refusalEntry(reply.requestId);
      expect([role, target, action, entry?.event_name]).toEqual([
        role,
        target,
        action,
        expect.stringMatching(/^(admin\.access_denied|root_mode\.required_for_api_key)$/),
      ]);
      const details = entry?.details as { refused_by: string; role?: string; status: number; action: string };
      expect(details.status).toBe(got);
      if (got === 404) expect(details.refused_by).toBe('out_of_reach');
      if (role === 'unbound') expect(details.refused_by).toBe('unbound');
      else {
        expect(['role', 'root_mode', 'out_of_reach']).toContain(details.refused_by);
        // The caller's role in the key's organization: the one that refused, or null where it has none.
        expect(details).toHaveProperty('role');
        if (details.refused_by !== 'out_of_reach') expect(details.role).toEqual(expect.any(String));
      }
      expect(entry?.actor).toBe(who.arn);
    }
  }
  return mismatches;
}

describe('every role × key type × action, through the local gateway', () => {
  it.each(['super-admin', 'org-owner', 'workspace-admin', 'auditor', 'member', 'unbound'])(
    '%s: as the matrix says',
    async (role) => {
      expect(await runRow(role)).toEqual([]);
    },
  );

  it('super-admin in root mode: as the matrix says', async () => {
    const admin = principals.get('super-admin') as LocalPrincipal;
    const opened = await call(admin, 'POST', '/v1/root-mode', { reason: 'role matrix test' });
    expect(opened.status).toBe(201);
    try {
      expect(await runRow('super-admin in root mode')).toEqual([]);
    } finally {
      expect((await call(admin, 'DELETE', '/v1/root-mode')).status).toBe(200);
    }
  });
});
