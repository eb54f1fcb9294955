/** Keys for tests, made with the real service code (no metadata, so no KMS call). */
import type { Actor } from '../../functions/domain/api-key';
import type { CreateKeyBody } from '../../functions/handlers/management/schemas';
import { createKey } from '../../functions/services/api-keys';

export const TEST_ACTOR: Actor = {
  principal: 'arn:aws:iam::123456789012:user/admin',
  source_ip: '203.0.113.5',
  user_agent: 'aws-cli/2',
  request_id: 'req-1',
};

/** A development workspace key in organization `acme` with `agents:read`, unless `extra` says otherwise. */
export function newTestKey(
  name = 'test',
  extra: Partial<CreateKeyBody> = {},
  actor: Actor = TEST_ACTOR,
  clock?: () => Date,
) {
  const body = {
    name,
    scopes: ['agents:read'],
    environment: 'development',
    organization_id: 'acme',
    key_type: 'workspace',
    ...extra,
  } as CreateKeyBody;
  return createKey(body, actor, clock);
}
