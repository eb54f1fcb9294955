/**
 * Root mode (docs/tenancy.md#root-mode): `POST` opens an elevation of at most 15 minutes (the route
 * requires MFA: a resource policy statement on AWS, `"mfa": true` locally), `GET` tells the caller
 * its state, `DELETE` closes it early.
 */
import { withWarnings } from '../../services/access-control';
import { closeRootMode, openRootMode, rootModeState } from '../../services/root-mode';
import { json } from '../../shared/http';
import { dispatch, managementRoute } from './kit';
import { rootModeBody } from './tenancy-schemas';

export const handler = dispatch({
  'POST /v1/root-mode': managementRoute({ body: rootModeBody }, async ({ body, actor }) => {
    const { state, decision } = await openRootMode(actor, body);
    return json(201, withWarnings(state, decision));
  }),
  'GET /v1/root-mode': managementRoute({}, async ({ actor }) => {
    const { state, decision } = await rootModeState(actor);
    return json(200, withWarnings(state, decision));
  }),
  'DELETE /v1/root-mode': managementRoute({}, async ({ actor }) => {
    const { state, decision } = await closeRootMode(actor);
    return json(200, withWarnings(state, decision));
  }),
});
