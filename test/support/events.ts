/** API Gateway event builders, shaped like the real REST (v1) events. */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';

/** The account of every test event: the API's (authorizer events) and the signing caller's (IAM routes). */
export const TEST_ACCOUNT = '123456789012';
export const ADMIN_ARN = `arn:aws:iam::${TEST_ACCOUNT}:user/security-admin`;

export function apiEvent(
  method: string,
  resource: string,
  options: {
    params?: Record<string, string>;
    query?: Record<string, string>;
    body?: unknown;
    rawBody?: string;
    headers?: Record<string, string>;
    userArn?: string;
    sourceIp?: string;
  } = {},
): APIGatewayProxyEvent {
  let path = resource;
  for (const [k, v] of Object.entries(options.params ?? {}))
    path = path.replace(`{${k}}`, encodeURIComponent(v));
  const body = options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body));
  const headers = {
    ...(body !== null ? { 'Content-Type': 'application/json' } : {}),
    'User-Agent': 'jest/1.0',
    ...options.headers,
  };
  return {
    resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: options.query ?? null,
    multiValueQueryStringParameters: options.query
      ? Object.fromEntries(Object.entries(options.query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: options.params ?? null,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'test',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path,
      stage: 'test',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'r',
      resourcePath: resource,
      identity: {
        accessKey: 'AKIATEST',
        accountId: '123456789012',
        apiKey: null,
        apiKeyId: null,
        caller: 'AIDATEST',
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: options.sourceIp ?? '198.51.100.7',
        user: 'AIDATEST',
        userAgent: 'jest/1.0',
        userArn: options.userArn ?? ADMIN_ARN,
      },
    },
  };
}

/**
 * A REST authorizer event for an API in the account the functions run in (`LATCHKEY_ACCOUNT_ID`:
 * `TEST_ACCOUNT` with `useFreshTables`, the local stack's own with `startTestStack`), so the
 * built-in registration admits it.
 */
export function authorizerEvent(
  method: string,
  resource: string,
  options: { token?: string; header?: 'authorization' | 'x-api-key'; sourceIp?: string; path?: string } = {},
): APIGatewayRequestAuthorizerEvent {
  const account = process.env.LATCHKEY_ACCOUNT_ID ?? TEST_ACCOUNT;
  const headers: Record<string, string> = {};
  if (options.token !== undefined) {
    if (options.header === 'x-api-key') headers['X-API-Key'] = options.token;
    else headers.Authorization = `Bearer ${options.token}`;
  }
  const path = options.path ?? resource.replace(/\{[^}]+\}/g, 'x1');
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:${account}:abc123/prod/${method}${path}`,
    resource,
    path,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    pathParameters: null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: account,
      apiId: 'abc123',
      httpMethod: method,
      path,
      stage: 'prod',
      requestId: randomUUID(),
      resourceId: 'r',
      resourcePath: resource,
      identity: { sourceIp: options.sourceIp ?? '198.51.100.7', userAgent: 'jest/1.0' },
    } as unknown as APIGatewayRequestAuthorizerEvent['requestContext'],
  };
}

export const lambdaContext = {
  functionName: 'test',
  awsRequestId: 'req',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context;
