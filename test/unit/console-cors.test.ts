/**
 * The management kit's CORS headers for the hosted console (docs/console-on-aws.md): every answer,
 * refusals included, names the console's origin when `LATCHKEY_CONSOLE_ORIGIN` is one, and none
 * when it is `none` (the local stack, or no hosted console).
 */
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { z } from 'zod';
import { setting } from '../../functions/shared/config';
import { json, route } from '../../functions/shared/http';
import { type FunctionDeclaration, functions } from '../../lib/declaration';
import { functionEnvironment, SETTINGS } from '../../lib/function-environment';

const ORIGIN = 'https://d111111abcdef8.cloudfront.net';
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const handler = route({ body: z.object({ name: z.string() }) }, async ({ body }) =>
  json(201, { name: body.name }),
);

const event = (body: string): APIGatewayProxyEvent =>
  ({
    httpMethod: 'POST',
    resource: '/v1/things',
    path: '/v1/things',
    headers: { 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
    pathParameters: null,
    queryStringParameters: null,
    requestContext: { identity: { userArn: 'arn:aws:iam::111122223333:user/ada' }, requestId: 'r1' },
  }) as unknown as APIGatewayProxyEvent;

const context = { functionName: 'test', awsRequestId: 'r1' } as unknown as Context;

function configure(origin: string | null) {
  Object.assign(
    process.env,
    functionEnvironment(
      { name: 'T', entry: 'x.ts', access: [], settings: ['apiKeysEnabled', 'consoleOrigin'] },
      { tables: {}, settings: { apiKeysEnabled: true, consoleOrigin: origin } },
    ),
  );
}

it('names the console origin on a success and on a refusal', async () => {
  configure(ORIGIN);
  const ok = await handler(event('{"name":"a"}'), context);
  expect(ok.statusCode).toBe(201);
  expect(ok.headers).toMatchObject({
    'access-control-allow-origin': ORIGIN,
    'access-control-expose-headers': 'x-next-token,retry-after',
    vary: 'Origin',
    'content-type': 'application/json',
  });
  const refused = await handler(event('{"name":1}'), context);
  expect(refused.statusCode).toBe(400);
  expect(JSON.parse(refused.body).error.details[0].field).toBe('name');
  expect(refused.headers).toMatchObject({ 'access-control-allow-origin': ORIGIN });
});

it('adds no CORS header when there is no hosted console', async () => {
  configure(null);
  expect(process.env[SETTINGS.consoleOrigin.name]).toBe('none');
  for (const body of ['{"name":"a"}', '{"name":1}', 'not json']) {
    const answer = await handler(event(body), context);
    expect(Object.keys(answer.headers ?? {}).filter((h) => h.startsWith('access-control-'))).toEqual([]);
  }
});

it('refuses a console origin that is not an https origin', () => {
  for (const bad of ['http://example.com', 'https://example.com/path', '*', 'https://a b']) {
    process.env[SETTINGS.consoleOrigin.name] = bad;
    expect(() => setting('consoleOrigin')).toThrow('LATCHKEY_CONSOLE_ORIGIN is invalid');
  }
});

it('gives every management function, and only those, the console origin', () => {
  for (const fn of Object.values(functions) as FunctionDeclaration[]) {
    const management = fn.entry.startsWith('functions/handlers/management/');
    expect([fn.name, fn.settings?.includes('consoleOrigin') ?? false]).toEqual([fn.name, management]);
  }
});
