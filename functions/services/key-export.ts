/**
 * `GET /v1/api-keys/export` (docs/analytics.md): the registry, page by page, through the same
 * indexes as the list route (Query, never a Scan), as JSON records or CSV. Only public fields (the
 * allow-list of `toPublic`): never a secret, hash or metadata (metadata is encrypted; exporting it
 * would need a KMS call per key).
 */
import type { PublicApiKey } from '../domain/api-key';
import { toCsv } from '../domain/csv';
import { type Clock, listKeys } from './api-keys';

/** Columns of the CSV export, in order: a key's public record, flattened. */
export const EXPORT_COLUMNS = [
  'id',
  'name',
  'description',
  'key_prefix',
  'environment',
  'key_type',
  'organization_id',
  'workspace_id',
  'status',
  'scopes',
  'rate_limit',
  'rate_limit_window_seconds',
  'remaining',
  'refill_amount',
  'refill_interval',
  'ip_allowlist',
  'expires_at',
  'created_by',
  'created_at',
  'updated_at',
  'last_used_at',
  'revoked_at',
  'revoked_by',
  'rotated_at',
  'previous_key_expires_at',
  'rotation_every_days',
  'rotation_grace_period_seconds',
  'rotation_destination',
] as const;

function row(k: PublicApiKey): (string | number | null)[] {
  const cells: Record<(typeof EXPORT_COLUMNS)[number], string | number | null> = {
    id: k.id,
    name: k.name,
    description: k.description,
    key_prefix: k.key_prefix,
    environment: k.environment,
    key_type: k.key_type,
    organization_id: k.organization_id,
    workspace_id: k.workspace_id,
    status: k.status,
    // Space-separated: scopes and CIDRs never contain spaces.
    scopes: k.scopes.join(' '),
    rate_limit: k.rate_limit,
    rate_limit_window_seconds: k.rate_limit_window_seconds,
    remaining: k.remaining,
    refill_amount: k.refill_amount,
    refill_interval: k.refill_interval,
    ip_allowlist: k.ip_allowlist.join(' '),
    expires_at: k.expires_at,
    created_by: k.created_by,
    created_at: k.created_at,
    updated_at: k.updated_at,
    last_used_at: k.last_used_at,
    revoked_at: k.revoked_at,
    revoked_by: k.revoked_by,
    rotated_at: k.rotated_at,
    previous_key_expires_at: k.previous_key_expires_at,
    rotation_every_days: k.rotation?.every_days ?? null,
    rotation_grace_period_seconds: k.rotation?.grace_period_seconds ?? null,
    rotation_destination: k.rotation?.destination ?? null,
  };
  return EXPORT_COLUMNS.map((c) => cells[c]);
}

export interface ExportPage {
  readonly items: PublicApiKey[];
  readonly next_token: string | null;
}

/** One page: the list route's records (live use included: last use, quota left), in bigger pages. */
export function exportKeys(
  filter: Parameters<typeof listKeys>[0],
  limit: number,
  nextToken: string | undefined,
  clock: Clock = () => new Date(),
): Promise<ExportPage> {
  return listKeys(filter, limit, nextToken, clock);
}

/** A page as CSV (RFC 4180, CRLF, header row first; formula-safe: `domain/csv.ts`). */
export function exportCsv(page: ExportPage): string {
  return toCsv([...EXPORT_COLUMNS], page.items.map(row));
}
