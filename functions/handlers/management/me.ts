/** GET /v1/me: the caller's principal, its bindings and its root-mode state (docs/tenancy.md#who-am-i). */
import { withWarnings } from '../../services/access-control';
import { whoAmI } from '../../services/me';
import { json } from '../../shared/http';
import { managementRoute } from './kit';

export const handler = managementRoute({}, async ({ actor }) => {
  const { me, decision } = await whoAmI(actor);
  return json(200, withWarnings(me, decision));
});
