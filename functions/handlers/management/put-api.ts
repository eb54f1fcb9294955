/**
 * PUT /v1/apis/{api}: register an API, or replace its registration (docs/protecting-apis.md). Who
 * may: the owners of the registration's organization and super admins (action `api:put`), of the
 * organization it moves from too when a replacement changes it (docs/tenancy.md).
 */
import { authorize, withWarnings } from '../../services/access-control';
import { registerApi } from '../../services/api-registry';
import { setting } from '../../shared/config';
import { json } from '../../shared/http';
import { apiParams, putApiBody } from './api-schemas';
import { managementRoute } from './kit';

export const handler = managementRoute(
  { params: apiParams, body: putApiBody },
  async ({ params, body, actor }) => {
    const decision = await authorize(
      actor,
      'api:put',
      { organization_id: body.organization_id },
      { requireTenant: true },
    );
    const { accounts, ...rest } = body;
    // Without accounts, only APIs in Latchkey's own account may use the registration.
    const definition = { ...rest, accounts: accounts ?? [setting('accountId')] };
    const { created, registration } = await registerApi(params.api, definition, actor, {
      // Moving a registration to another organization needs the right in the one it leaves as well.
      beforeChange: async (previousOrganization) => {
        if (previousOrganization !== body.organization_id) {
          await authorize(actor, 'api:put', { organization_id: previousOrganization });
        }
      },
    });
    return json(created ? 201 : 200, withWarnings(registration, decision));
  },
);
