/**
 * A console session's audit trail names the person (docs/console-on-aws.md): management handlers
 * called with the request context API Gateway builds for identity-pool credentials record the user
 * pool user next to the role session, both in the entries they write themselves and in key changes
 * the audit consumer derives from the keys table's stream; the audit API returns it.
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { handler as createKey } from '../../functions/handlers/management/create-key';
import { handler as keyAudit } from '../../functions/handlers/management/get-key-audit';
import { handler as listAudit } from '../../functions/handlers/management/list-audit';
import { handler as organizations } from '../../functions/handlers/management/organizations';
import { useConsumerHarness } from '../support/audit-consumer';
import { apiEvent, lambdaContext, TEST_ACCOUNT } from '../support/events';
import { seedTestTenancy } from '../support/tenancy';

const ROLE = 'LatchkeyConsoleSecurityAdmins';
const SESSION = `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${ROLE}/CognitoIdentityCredentials`;
const POOL = 'eu-west-1_AbC123xyz';
const SUB = '1f2e3d4c-5b6a-4789-8abc-def012345678';
const IDENTITY = 'eu-west-1:0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const HOST = 'cognito-idp.eu-west-1.amazonaws.com';
const ADA = { provider: 'cognito', user_pool_id: POOL, sub: SUB, identity_id: IDENTITY };

type Handler = (e: APIGatewayProxyEvent, c: typeof lambdaContext) => Promise<APIGatewayProxyResult>;

/** An event signed by the console role's session; with `cognito`, as identity-pool credentials give it. */
function consoleEvent(
  method: string,
  resource: string,
  options: Parameters<typeof apiEvent>[2] & { cognito: boolean },
): APIGatewayProxyEvent {
  const event = apiEvent(method, resource, { ...options, userArn: SESSION });
  if (options.cognito) {
    Object.assign(event.requestContext.identity, {
      cognitoIdentityPoolId: 'eu-west-1:11111111-2222-4333-8444-555555555555',
      cognitoIdentityId: IDENTITY,
      cognitoAuthenticationType: 'authenticated',
      cognitoAuthenticationProvider: `${HOST}/${POOL},${HOST}/${POOL}:CognitoSignIn:${SUB}`,
    });
  }
  return event;
}

async function call(h: unknown, event: APIGatewayProxyEvent) {
  const res = await (h as Handler)(event, lambdaContext);
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  return { status: res.statusCode, body: JSON.parse(res.body) as any };
}

const h = useConsumerHarness();

beforeAll(async () => {
  // The console role's sessions, bound by pattern as docs/console-on-aws.md says to.
  await seedTestTenancy({
    bindings: [
      {
        principal: `arn:aws:sts::${TEST_ACCOUNT}:assumed-role/${ROLE}/*`,
        role: 'super_admin',
        root_allowed: false,
      },
    ],
  });
});

describe('console attribution', () => {
  it('records the user pool user of an admin action the management function audits itself', async () => {
    const created = await call(
      organizations,
      consoleEvent('POST', '/v1/organizations', {
        body: { organization_id: 'attributed', name: 'Attributed' },
        cognito: true,
      }),
    );
    expect(created.status).toBe(201);
    const stored = (await h.auditItems()).find((i) => i.event_name === 'admin.organization_created');
    expect(stored).toMatchObject({ actor: SESSION, source_ip: '198.51.100.7', federated_user: ADA });

    const feed = await call(
      listAudit,
      consoleEvent('GET', '/v1/audit', { query: { organization_id: 'attributed' }, cognito: false }),
    );
    expect(feed.status).toBe(200);
    const entry = feed.body.items.find(
      (i: { event_name: string }) => i.event_name === 'admin.organization_created',
    );
    expect(entry).toMatchObject({ actor: SESSION, federated_user: ADA });
  });

  it('records the user pool user of a key change, through the stamp the audit consumer reads', async () => {
    const created = await call(
      createKey,
      consoleEvent('POST', '/v1/api-keys', {
        body: { name: 'from-console', scopes: ['agents:read'], organization_id: 'acme' },
        cognito: true,
      }),
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(await h.run(await h.stream.next())).toEqual({ batchItemFailures: [] });
    const stored = (await h.auditItems()).find((i) => i.key_id === id);
    expect(stored).toMatchObject({
      event_name: 'admin.api_key_created',
      actor: SESSION,
      federated_user: ADA,
    });

    const history = await call(
      keyAudit,
      consoleEvent('GET', '/v1/api-keys/{id}/audit', { params: { id }, cognito: false }),
    );
    expect(history.status).toBe(200);
    expect(history.body.items).toEqual([
      expect.objectContaining({ event_name: 'admin.api_key_created', actor: SESSION, federated_user: ADA }),
    ]);
  });

  it('names no federated user for a caller without identity-pool credentials', async () => {
    const created = await call(
      createKey,
      consoleEvent('POST', '/v1/api-keys', {
        body: { name: 'from-cli', scopes: ['agents:read'], organization_id: 'acme' },
        cognito: false,
      }),
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect(await h.run(await h.stream.next())).toEqual({ batchItemFailures: [] });
    const stored = (await h.auditItems()).find((i) => i.key_id === id);
    expect(stored).toMatchObject({ event_name: 'admin.api_key_created', actor: SESSION });
    expect(stored).not.toHaveProperty('federated_user');
    const history = await call(
      keyAudit,
      consoleEvent('GET', '/v1/api-keys/{id}/audit', { params: { id }, cognito: false }),
    );
    expect(history.body.items[0]).toMatchObject({ actor: SESSION, federated_user: null });
  });
});
