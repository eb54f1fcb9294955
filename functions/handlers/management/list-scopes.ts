/** GET /v1/api-keys/scopes: the scope catalog (docs/scopes.md). */
import { PERMISSIONS, scopeCatalog } from '../../domain/scopes';
import { authorize } from '../../services/access-control';
import { json } from '../../shared/http';
import { managementRoute } from './kit';

export const handler = managementRoute({}, async ({ actor }) => {
  await authorize(actor, 'scope:read');
  return json(200, {
    items: scopeCatalog,
    permissions: PERMISSIONS,
    implied_by_admin: ['read', 'write', 'execute'],
  });
});
