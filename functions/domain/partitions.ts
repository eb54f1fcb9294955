/**
 * The partitions the overview's counts are kept in (docs/analytics.md): the whole registry, and
 * each organization. Pure.
 */
export const ALL_PARTITION = 'all';

export function organizationPartition(organizationId: string): string {
  return `org#${organizationId}`;
}
