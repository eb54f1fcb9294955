/** The pure audit rules: which stream records are admin changes, and what each entry holds. */
import type { ApiKeyItem } from '../../functions/domain/api-key';
import {
  denialEntry,
  deriveAuditEntry,
  PoisonRecordError,
  type StreamChange,
  usedEntry,
} from '../../functions/domain/audit';

const at = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString();
const admin = 'arn:aws:iam::123456789012:user/admin';

function item(over: Partial<ApiKeyItem> = {}): Record<string, unknown> {
  return {
    id: 'abcDEF012345',
    kind: 'api_key',
    name: 'ci',
    key_prefix: 'sk_dev_abcDEF012345',
    environment: 'development',
    key_type: 'workspace',
    organization_id: 'acme',
    workspace_id: 'default',
    scopes: ['agents:read'],
    status: 'active',
    created_by: admin,
    created_at: at(0),
    created_sort: `${at(0)}#abcDEF012345`,
    updated_at: at(0),
    secret_hash: 'a'.repeat(64),
    version: 1,
    last_change: {
      principal: admin,
      kind: 'created',
      at: at(0),
      source_ip: '203.0.113.9',
      user_agent: 'curl/8',
    },
    ...over,
  };
}

const modify = (oldImage: Record<string, unknown>, newImage: Record<string, unknown>): StreamChange => ({
  eventId: 'ev-1',
  eventName: 'MODIFY',
  oldImage,
  newImage,
});

function entryOf(change: StreamChange) {
  const d = deriveAuditEntry(change);
  if ('skip' in d) throw new Error(`skipped: ${d.skip}`);
  return d;
}

describe('deriveAuditEntry', () => {
  it('turns an INSERT into admin.api_key_created with actor, source and an ApiKeyCreated event', () => {
    const { entry, event } = entryOf({ eventId: 'ev-0', eventName: 'INSERT', newImage: item() });
    expect(entry).toMatchObject({
      event_id: 'ev-0',
      event_name: 'admin.api_key_created',
      key_id: 'abcDEF012345',
      key_prefix: 'sk_dev_abcDEF012345',
      actor: admin,
      organization_id: 'acme',
      workspace_id: 'default',
      source_ip: '203.0.113.9',
      user_agent: 'curl/8',
      timestamp: at(0),
    });
    expect(entry.changes.scopes).toEqual({ before: null, after: ['agents:read'] });
    expect(event?.detailType).toBe('ApiKeyCreated');
    expect(event?.detail.event_id).toBe('ev-0');
  });

  it('names a scope change admin.api_key_scope_changed and keeps the other fields changed with it', () => {
    const before = item();
    const after = item({
      scopes: ['agents:read', 'agents:write'],
      name: 'ci-2',
      version: 2,
      updated_at: at(5),
      last_change: { principal: admin, kind: 'updated', at: at(5) },
    });
    const { entry, event } = entryOf(modify(before, after));
    expect(entry.event_name).toBe('admin.api_key_scope_changed');
    expect(entry.changes).toEqual({
      scopes: { before: ['agents:read'], after: ['agents:read', 'agents:write'] },
      name: { before: 'ci', after: 'ci-2' },
    });
    expect(entry.details).toEqual({ scopes_added: ['agents:write'], scopes_removed: [] });
    expect(event).toBeUndefined();
  });

  it('names other updates admin.api_key_updated and records metadata only as changed', () => {
    const after = item({
      status: 'disabled',
      metadata_ciphertext: new Uint8Array([1, 2, 3]),
      last_change: { principal: admin, kind: 'updated', at: at(6) },
    });
    const { entry } = entryOf(modify(item(), after));
    expect(entry.event_name).toBe('admin.api_key_updated');
    expect(entry.changes).toEqual({
      status: { before: 'active', after: 'disabled' },
      metadata: { changed: true },
    });
  });

  it('maps rotation and revocation by the stamp, never by the fields that changed', () => {
    const rotated = entryOf(
      modify(
        item(),
        item({ secret_hash: 'b'.repeat(64), last_change: { principal: admin, kind: 'rotated', at: at(7) } }),
      ),
    );
    expect(rotated.entry.event_name).toBe('admin.api_key_rotated');
    expect(rotated.entry.changes).toEqual({});
    expect(rotated.event?.detailType).toBe('ApiKeyRotated');
    // Who rotated is part of every change event, as the README's event table says.
    expect(rotated.event?.detail).toMatchObject({ actor: admin, previous_key_expires_at: null });
    const revoked = entryOf(
      modify(
        item(),
        item({ status: 'revoked', last_change: { principal: admin, kind: 'revoked', at: at(8) } }),
      ),
    );
    expect(revoked.entry.event_name).toBe('admin.api_key_deleted');
    expect(revoked.event?.detailType).toBe('ApiKeyRevoked');
  });

  it('skips REMOVE records and modifications that did not restamp last_change', () => {
    expect(deriveAuditEntry({ eventId: 'e', eventName: 'REMOVE', oldImage: item() })).toHaveProperty('skip');
    expect(deriveAuditEntry(modify(item(), item({ last_used_at: at(9) })))).toHaveProperty('skip');
  });

  it('refuses records it can never read, naming no value', () => {
    const { id: _id, ...noId } = item();
    expect(() => deriveAuditEntry({ eventId: 'e', eventName: 'INSERT', newImage: noId })).toThrow(
      PoisonRecordError,
    );
    expect(() =>
      deriveAuditEntry({
        eventId: 'e',
        eventName: 'INSERT',
        newImage: item({ last_change: undefined as never }),
      }),
    ).toThrow(PoisonRecordError);
    expect(() => deriveAuditEntry({ eventId: 'e', eventName: 'MODIFY', oldImage: item() })).toThrow(
      PoisonRecordError,
    );
  });

  it('never copies a hash or the ciphertext', () => {
    const after = item({
      secret_hash: 'c'.repeat(64),
      previous_secret_hash: 'a'.repeat(64),
      metadata_ciphertext: new Uint8Array([9]),
      last_change: { principal: admin, kind: 'rotated', at: at(9) },
    });
    const out = JSON.stringify(entryOf(modify(item(), after)));
    expect(out).not.toMatch(/aaaaaaaa|cccccccc|secret_hash|ciphertext/);
  });
});

describe('authorizer entries', () => {
  it('builds a denial without an organization when no key was found', () => {
    const e = denialEntry({
      eventId: 'd1',
      at: new Date(at(1)),
      status: 401,
      reason: 'malformed_token',
      route: 'GET /demo/agents',
      sourceIp: '198.51.100.1',
    });
    expect(e).toEqual({
      event_id: 'd1',
      event_name: 'admin.api_key_denied',
      actor: 'anonymous',
      source_ip: '198.51.100.1',
      changes: {},
      details: { reason: 'malformed_token', status: 401, route: 'GET /demo/agents' },
      timestamp: at(1),
    });
  });

  it('builds one deterministic used entry per key and minute', () => {
    const key = { id: 'abcDEF012345', key_prefix: 'sk_dev_abcDEF012345', organization_id: 'acme' };
    const start = new Date(at(0));
    expect(usedEntry(key, start, 3)).toEqual(usedEntry(key, start, 3));
    expect(usedEntry(key, start, 3).details).toEqual({ count: 3, window_start: at(0), window_end: at(60) });
  });
});
