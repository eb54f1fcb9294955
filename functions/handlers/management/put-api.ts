/** PUT /v1/apis/{api}: register an API, or replace its registration (docs/protecting-apis.md). */
import { registerApi } from '../../services/api-registry';
import { setting } from '../../shared/config';
import { json, route } from '../../shared/http';
import { apiParams, putApiBody } from './api-schemas';

export const handler = route({ params: apiParams, body: putApiBody }, async ({ params, body, actor }) => {
  const { accounts, ...rest } = body;
  // Without accounts, only APIs in Latchkey's own account may use the registration.
  const definition = { ...rest, accounts: accounts ?? [setting('accountId')] };
  const { created, registration } = await registerApi(params.api, definition, actor);
  return json(created ? 201 : 200, registration);
});
