/**
 * The admin records tests need (docs/tenancy.md): the principal `apiEvent` signs as
 * (`ADMIN_ARN`) and the one `TEST_ACTOR` names, bound as super admins, and the organizations and
 * workspaces the tests create keys in. Seeded with the real seed service, idempotently.
 */
import type { SeedInput } from '../../functions/services/tenancy';
import { ADMIN_ARN } from './events';

/** The organizations (and their workspaces besides `default`) tests create keys in. */
export const TEST_ORGANIZATIONS: NonNullable<SeedInput['organizations']> = [
  { organization_id: 'acme', name: 'Acme', workspaces: ['ws1', 'payments'] },
  { organization_id: 'other', name: 'Other' },
  { organization_id: 'fuzz', name: 'Fuzz', workspaces: ['w1'] },
];

export const TEST_ACTOR_ARN = 'arn:aws:iam::123456789012:user/admin';

/** Seeds the default test tenancy plus `extra` (organizations first, then bindings). */
export async function seedTestTenancy(extra: SeedInput = {}): Promise<void> {
  // Loaded on first use: the SDK clients read the endpoints the test stack or tables set.
  const { seed } =
    require('../../functions/services/tenancy') as typeof import('../../functions/services/tenancy');
  await seed(
    { principal: 'latchkey:test' },
    {
      organizations: [...TEST_ORGANIZATIONS, ...(extra.organizations ?? [])],
      bindings: [
        { principal: ADMIN_ARN, role: 'super_admin', root_allowed: true },
        { principal: TEST_ACTOR_ARN, role: 'super_admin', root_allowed: true },
        ...(extra.bindings ?? []),
      ],
    },
  );
}
