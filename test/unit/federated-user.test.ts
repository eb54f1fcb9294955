/**
 * Naming the person behind a console session: the user pool user API Gateway reports for
 * identity-pool credentials, parsed defensively, and carried into the audit entries.
 */
import type { ApiKeyItem } from '../../functions/domain/api-key';
import { adminEntry, deriveAuditEntry, registrationEntry } from '../../functions/domain/audit';
import { federatedUserOf, storedFederatedUser } from '../../functions/domain/federated-user';

const POOL = 'eu-west-1_AbC123xyz';
const SUB = '1f2e3d4c-5b6a-4789-8abc-def012345678';
const IDENTITY = 'eu-west-1:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const HOST = 'cognito-idp.eu-west-1.amazonaws.com';
const PROVIDER = `${HOST}/${POOL},${HOST}/${POOL}:CognitoSignIn:${SUB}`;
const ROLE_SESSION =
  'arn:aws:sts::123456789012:assumed-role/LatchkeyConsoleSecurityAdmins/CognitoIdentityCredentials';

/** A request context's identity as API Gateway REST fills it for identity-pool credentials. */
const cognito = (over: Record<string, string | null> = {}) => ({
  cognitoIdentityPoolId: 'eu-west-1:11111111-2222-4333-8444-555555555555',
  cognitoIdentityId: IDENTITY,
  cognitoAuthenticationType: 'authenticated',
  cognitoAuthenticationProvider: PROVIDER,
  ...over,
});

describe('federatedUserOf', () => {
  it('names the user pool, the user sub and the identity of an authenticated identity-pool caller', () => {
    expect(federatedUserOf(cognito())).toEqual({
      provider: 'cognito',
      user_pool_id: POOL,
      sub: SUB,
      identity_id: IDENTITY,
    });
  });

  it('reads the provider with the sign-in segment alone, or in any position', () => {
    const alone = `${HOST}/${POOL}:CognitoSignIn:${SUB}`;
    expect(federatedUserOf(cognito({ cognitoAuthenticationProvider: alone }))?.sub).toBe(SUB);
    const swapped = `${alone},${HOST}/${POOL}`;
    expect(federatedUserOf(cognito({ cognitoAuthenticationProvider: swapped }))?.user_pool_id).toBe(POOL);
  });

  it('keeps the user when the identity id is missing or odd, leaving only the identity out', () => {
    expect(federatedUserOf(cognito({ cognitoIdentityId: null }))).toEqual({
      provider: 'cognito',
      user_pool_id: POOL,
      sub: SUB,
    });
    expect(federatedUserOf(cognito({ cognitoIdentityId: 'not an id' }))).not.toHaveProperty('identity_id');
  });

  it('is absent for a caller that did not sign with identity-pool credentials (IAM user, role, CLI)', () => {
    expect(federatedUserOf(undefined)).toBeUndefined();
    expect(federatedUserOf(null)).toBeUndefined();
    expect(
      federatedUserOf({
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        cognitoIdentityId: null,
      }),
    ).toBeUndefined();
    expect(federatedUserOf({})).toBeUndefined();
  });

  it('is absent for an unauthenticated identity or a sign-in through another provider', () => {
    expect(federatedUserOf(cognito({ cognitoAuthenticationType: 'unauthenticated' }))).toBeUndefined();
    expect(
      federatedUserOf(
        cognito({ cognitoAuthenticationProvider: 'graph.facebook.com,graph.facebook.com:123456' }),
      ),
    ).toBeUndefined();
    expect(
      federatedUserOf(cognito({ cognitoAuthenticationProvider: 'accounts.google.com:1234567890' })),
    ).toBeUndefined();
  });

  it.each([
    ['no sign-in marker', `${HOST}/${POOL}`],
    ['an empty sub', `${HOST}/${POOL}:CognitoSignIn:`],
    ['a sub that is no UUID', `${HOST}/${POOL}:CognitoSignIn:alice`],
    ['a sub with more after it', `${HOST}/${POOL}:CognitoSignIn:${SUB}:CognitoSignIn:${SUB}`],
    ['two sign-ins', `${HOST}/${POOL}:CognitoSignIn:${SUB},${HOST}/${POOL}:CognitoSignIn:${SUB}`],
    ['no pool', `${HOST}:CognitoSignIn:${SUB}`],
    ['a pool id of the wrong shape', `${HOST}/not a pool:CognitoSignIn:${SUB}`],
    ['a host that is not Cognito', `evil.example.com/${POOL}:CognitoSignIn:${SUB}`],
    ['an empty string', ''],
    ['an oversized value', `${'x'.repeat(2000)}/${POOL}:CognitoSignIn:${SUB}`],
  ])('is absent for a malformed provider: %s', (_why, provider) => {
    expect(federatedUserOf(cognito({ cognitoAuthenticationProvider: provider }))).toBeUndefined();
  });

  it('is absent when the provider is not a string at all', () => {
    const identity = { ...cognito(), cognitoAuthenticationProvider: 42 } as unknown as Parameters<
      typeof federatedUserOf
    >[0];
    expect(federatedUserOf(identity)).toBeUndefined();
  });
});

describe('storedFederatedUser', () => {
  it('accepts what federatedUserOf produced and nothing else', () => {
    const user = federatedUserOf(cognito());
    expect(storedFederatedUser(user)).toEqual(user);
    expect(storedFederatedUser(undefined)).toBeUndefined();
    expect(storedFederatedUser('cognito')).toBeUndefined();
    expect(storedFederatedUser({ provider: 'saml', user_pool_id: POOL, sub: SUB })).toBeUndefined();
    expect(storedFederatedUser({ provider: 'cognito', user_pool_id: POOL, sub: 'x' })).toBeUndefined();
    // Unknown attributes never reach the trail.
    expect(storedFederatedUser({ ...user, email: 'ada@example.com' })).toEqual(user);
  });
});

describe('audit entries name the federated user next to the principal', () => {
  const user = federatedUserOf(cognito());
  const actor = {
    principal: ROLE_SESSION,
    source_ip: '203.0.113.9',
    ...(user ? { federated_user: user } : {}),
  };
  const at = new Date(Date.UTC(2030, 0, 1));

  it('in entries the management functions write themselves', () => {
    const entry = adminEntry({
      eventId: 'e1',
      eventName: 'admin.binding_put',
      at,
      actor,
      organizationId: 'acme',
      details: {},
    });
    expect(entry).toMatchObject({ actor: ROLE_SESSION, source_ip: '203.0.113.9', federated_user: user });
    const registration = registrationEntry({
      eventId: 'e2',
      api: 'orders',
      before: undefined,
      after: { name: 'orders', owner: 'team', organization_id: 'acme' } as never,
      actor,
      at,
    });
    expect(registration.federated_user).toEqual(user);
    expect(
      adminEntry({
        eventId: 'e3',
        eventName: 'admin.binding_put',
        at,
        actor: { principal: 'p' },
        organizationId: 'acme',
        details: {},
      }),
    ).not.toHaveProperty('federated_user');
  });

  it('in key changes, from the last_change stamp of the stream image', () => {
    const image = (stamp: Record<string, unknown>): Partial<ApiKeyItem> & Record<string, unknown> => ({
      id: 'abcDEF012345',
      key_prefix: 'sk_dev_abcDEF012345',
      organization_id: 'acme',
      workspace_id: 'default',
      name: 'ci',
      scopes: ['agents:read'],
      last_change: { principal: ROLE_SESSION, kind: 'created', at: at.toISOString(), ...stamp },
    });
    const derived = deriveAuditEntry({
      eventId: 'ev',
      eventName: 'INSERT',
      newImage: image({ federated_user: user }),
    });
    if ('skip' in derived) throw new Error(derived.skip);
    expect(derived.entry.federated_user).toEqual(user);
    // A stamp whose federated user is not of the expected shape names none.
    const odd = deriveAuditEntry({
      eventId: 'ev2',
      eventName: 'INSERT',
      newImage: image({ federated_user: { provider: 'cognito', sub: SUB } }),
    });
    if ('skip' in odd) throw new Error(odd.skip);
    expect(odd.entry).not.toHaveProperty('federated_user');
  });
});
