/**
 * GET /v1/audit: an organization's audit feed (or, for super admins, `platform`'s), newest first,
 * filtered, paginated through indexes; a workspace admin sees its workspaces' entries only.
 */
import { workspaceReach } from '../../domain/access';
import { authorize, withWarnings } from '../../services/access-control';
import { organizationAudit } from '../../services/audit';
import { json } from '../../shared/http';
import { listAuditQuery } from './audit-schemas';
import { managementRoute } from './kit';

export const handler = managementRoute({ query: listAuditQuery }, async ({ query, actor }) => {
  const { limit, next_token, ...filter } = query;
  const decision = await authorize(actor, 'audit:read', { organization_id: filter.organization_id });
  const reach = workspaceReach(decision.bindings, filter.organization_id);
  const scoped = reach === 'all' ? filter : { ...filter, workspace_ids: reach };
  return json(200, withWarnings(await organizationAudit(scoped, limit, next_token), decision));
});
