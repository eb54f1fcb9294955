/** The local gateway with fixture handlers: the events it builds, the authorizer flow, its errors. */
import { createServer, type Server } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { FunctionDeclaration, RouteDeclaration } from '../../lib/declaration';
import { principal } from '../../local/credentials';
import { type Gateway, MAX_BODY_BYTES, startGateway } from '../../local/gateway';
import { localLambdas } from '../../local/lambda';
import { startLocalStack } from '../../local/stack';
import { send, sendSigned } from '../support/local-stack';

const fixture = (name: string, timeoutSeconds?: number): FunctionDeclaration => ({
  name,
  entry: `test/local/fixtures/${name}.ts`,
  access: [],
  ...(timeoutSeconds ? { timeoutSeconds } : {}),
});
const echo = fixture('echo');
const routes: RouteDeclaration[] = [
  { method: 'GET', path: '/fx/items', auth: { type: 'iam' }, fn: echo },
  { method: 'GET', path: '/fx/items/special', auth: { type: 'iam' }, fn: echo },
  { method: 'POST', path: '/fx/items/{id}', auth: { type: 'iam' }, fn: echo },
  { method: 'GET', path: '/fx/protected/{id}', auth: { type: 'latchkey', scope: 'agents:read' }, fn: echo },
  {
    method: 'GET',
    path: '/fx/broken',
    auth: { type: 'latchkey', scope: 'agents:read' },
    fn: fixture('broken', 1),
  },
];
const admin = principal('admin');
let gateway: Gateway;

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    region: 'us-east-1',
    routes,
    authorizer: fixture('authorizer'),
    principals: () => [admin],
    lambdas: localLambdas(),
    awsServices: [],
    localEndpoints: {},
    trustForwardedFor: true,
  });
});
afterAll(() => gateway?.close());

const protectedCall = (policy: string, path = '/fx/protected/a%20b', extra: Record<string, string> = {}) =>
  send(gateway.url, { path, query: 'mode=ok', headers: { 'X-Test-Policy': policy, ...extra } });

describe('local gateway', () => {
  it('builds an API Gateway proxy event for IAM routes, with the caller in the request context', async () => {
    const res = await sendSigned(gateway.url, {
      principal: admin,
      method: 'POST',
      path: '/fx/items/item%2F1',
      query: 'a=1&a=2&b=x%20y',
      headers: { 'content-type': 'application/json', 'User-Agent': 'jest', 'X-Forwarded-For': '203.0.113.9' },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-fixture']).toBe('echo');
    const event = res.json<APIGatewayProxyEvent>();
    expect(event).toMatchObject({
      resource: '/fx/items/{id}',
      path: '/fx/items/item%2F1',
      httpMethod: 'POST',
      pathParameters: { id: 'item/1' },
      queryStringParameters: { a: '2', b: 'x y' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x y'] },
      body: '{"hello":"world"}',
      isBase64Encoded: false,
      stageVariables: null,
      requestContext: {
        stage: 'local',
        resourcePath: '/fx/items/{id}',
        httpMethod: 'POST',
        path: '/local/fx/items/item%2F1',
        accountId: '000000000000',
        apiId: 'local',
        authorizer: null,
        identity: {
          sourceIp: '203.0.113.9',
          userAgent: 'jest',
          userArn: admin.arn,
          accessKey: admin.access_key_id,
          accountId: '000000000000',
        },
      },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-amzn-requestid']).toBe(event.requestContext.requestId);
    expect(event.requestContext.identity.caller).toMatch(/^AIDA/);
    expect(event.headers['User-Agent']).toBe('jest');
    expect(event.multiValueHeaders['X-Forwarded-For']).toEqual(['203.0.113.9']);
  });

  it('matches static paths before parameterised siblings and gives null for absent parts', async () => {
    const event = (
      await sendSigned(gateway.url, { principal: admin, path: '/fx/items/special' })
    ).json<APIGatewayProxyEvent>();
    expect(event.resource).toBe('/fx/items/special');
    expect(event.pathParameters).toBeNull();
    expect(event.queryStringParameters).toBeNull();
    expect(event.body).toBeNull();
  });

  it('answers 404 for unknown paths and 403 Missing Authentication Token for undeclared methods', async () => {
    const unknown = await send(gateway.url, { path: '/nowhere' });
    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'not_found' } });
    const wrongMethod = await send(gateway.url, { method: 'DELETE', path: '/fx/items' });
    expect(wrongMethod.status).toBe(403);
    expect(wrongMethod.json()).toEqual({ message: 'Missing Authentication Token' });
  });

  describe('Latchkey authorizer routes', () => {
    it('calls the authorizer with a REQUEST event and the integration with its context as strings', async () => {
      const res = await protectedCall('allow', '/fx/protected/a%20b', { 'X-Forwarded-For': '198.51.100.7' });
      expect(res.status).toBe(200);
      const event = res.json<APIGatewayProxyEvent>();
      expect(event.requestContext.authorizer).toEqual({
        methodArn: 'arn:aws:execute-api:us-east-1:000000000000:local/local/GET/fx/protected/a%20b',
        type: 'REQUEST',
        principalId: 'key_123',
        keyId: 'key_123',
        scopes: 'agents:read agents:write',
        count: '3',
        admin: 'false',
      });
      expect(event.pathParameters).toEqual({ id: 'a b' });
      expect(event.requestContext.identity.sourceIp).toBe('198.51.100.7');
      expect(event.requestContext.identity.userArn).toBeNull();
    });

    it('allows through a wildcard resource', async () => {
      expect((await protectedCall('allow-wildcard')).status).toBe(200);
    });

    it('answers 401 when the authorizer throws Unauthorized', async () => {
      const res = await protectedCall('none');
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({ message: 'Unauthorized' });
    });

    it('answers 403 on an explicit deny and on a policy that does not cover the method', async () => {
      const denied = await protectedCall('deny');
      expect(denied.status).toBe(403);
      expect(denied.json()).toEqual({
        message: 'User is not authorized to access this resource with an explicit deny',
      });
      const elsewhere = await protectedCall('elsewhere');
      expect(elsewhere.status).toBe(403);
      expect(elsewhere.json()).toEqual({ message: 'User is not authorized to access this resource' });
    });

    it('answers 500 when the authorizer crashes or returns an object in its context', async () => {
      for (const policy of ['crash', 'array-context']) {
        const res = await protectedCall(policy);
        expect(res.status).toBe(500);
        expect(res.json()).toEqual({ message: null });
        expect(res.headers['x-amzn-errortype']).toBe('AuthorizerConfigurationException');
      }
    });
  });

  describe('integration failures', () => {
    const broken = (mode: string) =>
      send(gateway.url, { path: '/fx/broken', query: `mode=${mode}`, headers: { 'X-Test-Policy': 'allow' } });

    it('answers 502 when the handler throws or returns a malformed result', async () => {
      for (const mode of ['throw', 'malformed']) {
        const res = await broken(mode);
        expect(res.status).toBe(502);
        expect(res.json()).toEqual({ message: 'Internal server error' });
      }
    });

    it('answers 504 when the handler outlives its timeout', async () => {
      expect((await broken('slow')).status).toBe(504);
    });

    it('answers 413 above API Gateway’s 10 MB payload limit', async () => {
      const res = await send(gateway.url, {
        method: 'POST',
        path: '/fx/items/x',
        body: Buffer.alloc(MAX_BODY_BYTES + 1, 'a'),
      });
      expect(res.status).toBe(413);
    });
  });
});

describe('startLocalStack', () => {
  it('refuses a busy gateway port with a clear error, before starting anything', async () => {
    const holder: Server = createServer();
    await new Promise<void>((ok) => holder.listen(0, '127.0.0.1', () => ok()));
    const address = holder.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      await expect(
        startLocalStack({
          port,
          dynamoEndpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB,
          inMemory: true,
          quiet: true,
        }),
      ).rejects.toThrow(`Port ${port} (the local gateway) is already in use`);
    } finally {
      holder.close();
    }
  });
});
