/** `latchkey audit list`: the audit feed, `GET /v1/audit` (docs/cli.md#audit). */
import type { Command } from 'commander';
import { act, type Kit, listPages, pagingOptions, printPage } from '../kit';
import type { Column } from '../output';

/**
 * The principal, and under it the user pool user of a console session (docs/console-on-aws.md):
 * the role session alone does not say which group member acted.
 */
function actorCell(row: Record<string, unknown>): unknown {
  const user = row.federated_user as { sub?: unknown } | null | undefined;
  return typeof user?.sub === 'string' ? `${row.actor ?? '-'}\nuser ${user.sub}` : row.actor;
}

export const auditColumns: Column[] = [
  { header: 'TIME', value: 'timestamp' },
  { header: 'EVENT', value: 'event_name' },
  { header: 'KEY', value: 'key_id' },
  { header: 'ACTOR', value: actorCell },
  { header: 'SOURCE IP', value: 'source_ip' },
  {
    header: 'DETAIL',
    value: (row) => {
      const details = (row.details ?? {}) as Record<string, unknown>;
      return details.reason ?? (row.changes ? Object.keys(row.changes as object).join(', ') : undefined);
    },
  },
];

export function auditCommand(kit: Kit): Command {
  const audit = kit.program.command('audit').description('the audit trail of an organization');
  act(
    kit,
    pagingOptions(
      audit
        .command('list')
        .description('audit entries, newest first')
        .option('--org <org>', 'organization id (default: default; platform: platform-wide, super admins)')
        .option('--event <name>', 'only this event, e.g. admin.api_key_rotated')
        .option('--key <id>', "only this key's entries")
        .option('--actor <arn>', 'only this actor (exact)')
        .option('--from <timestamp>', 'from this instant (ISO-8601, inclusive)')
        .option('--to <timestamp>', 'to this instant (ISO-8601, inclusive)'),
    ).addHelpText(
      'after',
      `
Examples:
  latchkey audit list --org acme --event admin.api_key_revoked
  latchkey audit list --key a1B2c3D4e5F6 --from 2030-01-01T00:00:00Z --all --json`,
    ),
    async (ctx, _args, o) => {
      const query = {
        organization_id: o.org,
        event_name: o.event,
        key_id: o.key,
        actor: o.actor,
        from: o.from,
        to: o.to,
      };
      printPage(ctx, await listPages(ctx, '/v1/audit', query, o), auditColumns);
      return 0;
    },
  );
  return audit;
}
