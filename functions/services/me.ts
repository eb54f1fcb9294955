/**
 * `GET /v1/me` (docs/tenancy.md#who-am-i): the caller's own bindings and root-mode state, so the
 * admin tools can say "you are: org owner of acme" and leave out controls the role can never use.
 * The bindings are the ones the access check already loaded for this request; nothing else is
 * looked up but the caller's elevation. A read: nothing is written (an elapsed elevation shows as
 * expired; `GET /v1/root-mode` records its end).
 */
import { ROLES } from '../domain/access';
import type { Actor } from '../domain/api-key';
import { getElevation } from '../repositories/admin-repository';
import { type AccessDecision, authorize, type Clock } from './access-control';
import { type RootModeState, stateOf } from './root-mode';

const systemClock: Clock = () => new Date();

export interface MyBinding {
  readonly role: (typeof ROLES)[number];
  /** `null` for `super_admin` (every organization). */
  readonly organization_id: string | null;
  readonly workspace_ids: string[];
  readonly root_allowed: boolean;
}

export interface Me {
  readonly principal: string;
  /** Highest role first, then by organization. */
  readonly bindings: MyBinding[];
  readonly root_mode: RootModeState;
}

export async function whoAmI(
  caller: Actor,
  clock: Clock = systemClock,
): Promise<{ me: Me; decision: AccessDecision }> {
  const decision = await authorize(caller, 'self:read', {}, { clock });
  const now = clock();
  const elevation = await getElevation(caller.principal);
  const bindings = decision.bindings
    .map(
      (b): MyBinding => ({
        role: b.role,
        organization_id: b.organization_id,
        workspace_ids: [...b.workspace_ids],
        root_allowed: b.root_allowed,
      }),
    )
    .sort(
      (a, b) =>
        ROLES.indexOf(b.role) - ROLES.indexOf(a.role) ||
        (a.organization_id ?? '').localeCompare(b.organization_id ?? ''),
    );
  return {
    me: {
      principal: caller.principal,
      bindings,
      root_mode: stateOf(caller.principal, elevation, decision, now),
    },
    decision,
  };
}
