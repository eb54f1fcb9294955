/** GET /v1/api-keys/scopes: the scope catalog (docs/scopes.md). */
import { PERMISSIONS, scopeCatalog } from '../../domain/scopes';
import { json, route } from '../../shared/http';

export const handler = route({}, async () =>
  json(200, {
    items: scopeCatalog,
    permissions: PERMISSIONS,
    implied_by_admin: ['read', 'write', 'execute'],
  }),
);
