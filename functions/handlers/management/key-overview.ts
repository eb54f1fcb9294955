/**
 * GET /v1/api-keys/overview: the registry at a glance (docs/analytics.md). The figures cover whole
 * organizations, so an organization's overview is an organization-wide read of its keys, and the
 * registry-wide one needs a binding over every organization (docs/tenancy.md).
 */
import { ForbiddenError } from '../../domain/errors';
import { authorize, authorizeListing, withWarnings } from '../../services/access-control';
import { keyOverview } from '../../services/overview';
import { json } from '../../shared/http';
import { overviewQuery } from './analytics-schemas';
import { managementRoute } from './kit';

export const handler = managementRoute({ query: overviewQuery }, async ({ query, actor }) => {
  const org = query.organization_id;
  const { reach, decision } = await authorizeListing(
    actor,
    org === undefined ? {} : { organization_id: org },
  );
  if (org !== undefined) {
    await authorize(actor, 'api_key:read', { organization_id: org, key_type: 'organization' });
  } else if (!reach.all) {
    throw new ForbiddenError(
      'The registry-wide overview needs a binding over every organization; name one with organization_id.',
      [{ field: 'organization_id', message: 'required for a principal bound to some organizations only' }],
    );
  }
  return json(200, withWarnings(await keyOverview(query), decision));
});
