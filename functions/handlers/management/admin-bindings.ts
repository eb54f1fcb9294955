/** Principal bindings (docs/tenancy.md#bindings): list, put (create or replace), delete; super admins only. */
import { withWarnings } from '../../services/access-control';
import { deleteBinding, listBindings, putBinding } from '../../services/tenancy';
import { json } from '../../shared/http';
import { dispatch, managementRoute } from './kit';
import { bindingBody, bindingParams, bindingQuery } from './tenancy-schemas';

export const handler = dispatch({
  'GET /v1/admin-bindings': managementRoute({ query: bindingQuery }, async ({ query, actor }) => {
    const { limit, next_token, ...filter } = query;
    const { listing, decision } = await listBindings(actor, filter, limit, next_token);
    return json(200, withWarnings(listing, decision));
  }),
  'PUT /v1/admin-bindings': managementRoute({ body: bindingBody }, async ({ body, actor }) => {
    const { view, created, decision } = await putBinding(actor, body);
    return json(created ? 201 : 200, withWarnings(view, decision));
  }),
  'DELETE /v1/admin-bindings/{binding}': managementRoute(
    { params: bindingParams },
    async ({ params, actor }) => {
      const { view, decision } = await deleteBinding(actor, params.binding);
      return json(200, withWarnings(view, decision));
    },
  ),
});
