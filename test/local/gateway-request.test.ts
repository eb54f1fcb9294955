/**
 * What the local gateway hands a handler is what the caller signed or asked for: one query parser
 * for the SigV4 check and the event, the matched (normalized) path in the event and the methodArn,
 * and SigV4 with the `Date` header as API Gateway accepts it.
 */
import { createHash, createHmac } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { FunctionDeclaration, RouteDeclaration } from '../../lib/declaration';
import { principal } from '../../local/credentials';
import { type Gateway, startGateway } from '../../local/gateway';
import { localLambdas } from '../../local/lambda';
import { type HttpResponse, send, sendSigned, signRequest } from '../support/local-stack';

const fixture = (name: string): FunctionDeclaration => ({
  name,
  entry: `test/local/fixtures/${name}.ts`,
  access: [],
});
const echo = fixture('echo');
const routes: RouteDeclaration[] = [
  { method: 'GET', path: '/fx/items', auth: { type: 'iam' }, fn: echo },
  { method: 'GET', path: '/fx/protected/{id}', auth: { type: 'latchkey', scope: 'agents:read' }, fn: echo },
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
  });
});
afterAll(() => gateway?.close());

const eventOf = (res: HttpResponse) => res.json<APIGatewayProxyEvent>();

/** Either API Gateway refused the request, or the handler got exactly `expected` for `name`. */
function expectRefusedOrExactly(res: HttpResponse, name: string, expected: string): void {
  if (res.status === 403) return;
  expect(res.status).toBe(200);
  const event = eventOf(res);
  expect(event.queryStringParameters?.[name]).toBe(expected);
  expect(event.multiValueQueryStringParameters?.[name]).toEqual([expected]);
}

describe('the query a handler sees is the query the signature covered', () => {
  const signedFrom = '2024-01-01T00:00:00+00:00';

  it('gives the handler `+` as `+` (API Gateway REST percent-decodes only)', async () => {
    const res = await sendSigned(gateway.url, {
      principal: admin,
      path: '/fx/items',
      query: 'from=2024-01-01T00%3A00%3A00%2B00%3A00',
    });
    expect(res.status).toBe(200);
    expect(eventOf(res).queryStringParameters).toEqual({ from: signedFrom });
  });

  it('a header-signed request replayed with `+` for `%2B` cannot give the handler another value', async () => {
    const signed = await signRequest(gateway.url, {
      principal: admin,
      path: '/fx/items',
      query: 'from=2024-01-01T00:00:00%2B00:00',
    });
    expectRefusedOrExactly(await send(gateway.url, signed), 'from', signedFrom);
    for (const replayed of [
      'from=2024-01-01T00:00:00+00:00',
      'from=2024-01-01T00:00:00%2b00:00',
      'from=2024-01-01T00%3A00%3A00%2B00%3A00',
    ]) {
      expectRefusedOrExactly(await send(gateway.url, { ...signed, query: replayed }), 'from', signedFrom);
    }
  });

  it('a signed space replayed as `+` is refused', async () => {
    const signed = await signRequest(gateway.url, { principal: admin, path: '/fx/items', query: 'q=a%20b' });
    expectRefusedOrExactly(await send(gateway.url, signed), 'q', 'a b');
    const replayed = await send(gateway.url, { ...signed, query: 'q=a+b' });
    expect(replayed.status).toBe(403);
  });

  it('a presigned URL replayed with `+` for `%2B` cannot give the handler another value', async () => {
    const host = new URL(gateway.url).host;
    const signer = new SignatureV4({
      credentials: { accessKeyId: admin.access_key_id, secretAccessKey: admin.secret_access_key },
      region: 'us-east-1',
      service: 'execute-api',
      sha256: Sha256,
    });
    const presigned = await signer.presign(
      new HttpRequest({
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        path: '/fx/items',
        query: { from: signedFrom },
        headers: { host },
      }),
      { expiresIn: 60 },
    );
    const raw = Object.entries(presigned.query ?? {})
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    expect(raw).toContain('from=2024-01-01T00%3A00%3A00%2B00%3A00');
    const original = await send(gateway.url, { path: '/fx/items', query: raw });
    expect(original.status).toBe(200);
    expectRefusedOrExactly(original, 'from', signedFrom);
    const replayed = await send(gateway.url, { path: '/fx/items', query: raw.replace('%2B', '+') });
    expectRefusedOrExactly(replayed, 'from', signedFrom);
  });

  it('keeps `+` on Latchkey routes too, and answers 400 to a query that is not valid percent-encoding', async () => {
    const headers = { 'X-Test-Policy': 'allow' };
    const res = await send(gateway.url, {
      path: '/fx/protected/x',
      query: 'from=2024-01-01T00:00:00+00:00&tag=a&tag=b%20c',
      headers,
    });
    expect(res.status).toBe(200);
    expect(eventOf(res)).toMatchObject({
      queryStringParameters: { from: signedFrom, tag: 'b c' },
      multiValueQueryStringParameters: { from: [signedFrom], tag: ['a', 'b c'] },
    });
    const bad = await send(gateway.url, { path: '/fx/protected/x', query: 'a=%zz', headers });
    expect(bad.status).toBe(400);
    expect(bad.headers['x-amzn-errortype']).toBe('BadRequestException');
    // On an IAM route the signature check refuses it first, as before.
    const signed = await signRequest(gateway.url, { principal: admin, path: '/fx/items', query: 'a=1' });
    expect((await send(gateway.url, signed)).status).toBe(200);
    expect((await send(gateway.url, { ...signed, query: 'a=%zz' })).status).toBe(403);
  });
});

describe('a trailing slash', () => {
  it('is removed from the methodArn and the event path, so the policy for the route covers it', async () => {
    const res = await send(gateway.url, {
      path: '/fx/protected/a%20b/',
      headers: { 'X-Test-Policy': 'allow' },
    });
    expect(res.status).toBe(200);
    const event = eventOf(res);
    expect(event.requestContext.authorizer?.methodArn).toBe(
      'arn:aws:execute-api:us-east-1:000000000000:local/local/GET/fx/protected/a%20b',
    );
    expect(event.path).toBe('/fx/protected/a%20b');
    expect(event.requestContext.path).toBe('/local/fx/protected/a%20b');
    expect(event.pathParameters).toEqual({ id: 'a b' });
  });

  it('stays part of what SigV4 checks (the client signed the path it sent)', async () => {
    const res = await sendSigned(gateway.url, { principal: admin, path: '/fx/items/' });
    expect(res.status).toBe(200);
    expect(eventOf(res).path).toBe('/fx/items');
    // Signed without the slash, sent with it: another path, another signature.
    const signed = await signRequest(gateway.url, { principal: admin, path: '/fx/items' });
    expect((await send(gateway.url, { ...signed, path: '/fx/items/' })).status).toBe(403);
  });
});

/** SigV4 by hand (the SDK always signs X-Amz-Date), with the time in the `Date` header. */
function signWithDateHeader(
  date: Date,
  options: { signDate?: boolean; secret?: string } = {},
): Record<string, string> {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();
  const httpDate = date.toUTCString();
  const amzDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  const shortDate = amzDate.slice(0, 8);
  const host = new URL(gateway.url).host;
  const signDate = options.signDate ?? true;
  const signedHeaders = signDate ? 'date;host' : 'host';
  const canonicalHeaders = `${signDate ? `date:${httpDate}\n` : ''}host:${host}\n`;
  const canonicalRequest = ['GET', '/fx/items', '', canonicalHeaders, signedHeaders, sha('')].join('\n');
  const scope = `${shortDate}/us-east-1/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${options.secret ?? admin.secret_access_key}`, shortDate);
  for (const part of ['us-east-1', 'execute-api', 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return {
    Date: httpDate,
    Authorization: `AWS4-HMAC-SHA256 Credential=${admin.access_key_id}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  };
}

describe('SigV4 with the Date header instead of X-Amz-Date', () => {
  const now = () => new Date(Math.floor(Date.now() / 1000) * 1000);

  it('accepts a request whose time is in a signed Date header', async () => {
    const res = await send(gateway.url, { path: '/fx/items', headers: signWithDateHeader(now()) });
    expect(res.status).toBe(200);
    expect(eventOf(res).requestContext.identity.userArn).toBe(admin.arn);
  });

  it('refuses a changed Date, an unsigned Date, a stale Date and a wrong secret', async () => {
    const signed = signWithDateHeader(now());
    const changed = { ...signed, Date: new Date(now().getTime() + 1000).toUTCString() };
    const stale = signWithDateHeader(new Date(now().getTime() - 10 * 60 * 1000));
    for (const headers of [
      changed,
      signWithDateHeader(now(), { signDate: false }),
      stale,
      signWithDateHeader(now(), { secret: 'wrong' }),
    ]) {
      const res = await send(gateway.url, { path: '/fx/items', headers });
      expect(res.status).toBe(403);
    }
    const res = await send(gateway.url, { path: '/fx/items', headers: stale });
    expect(res.json<{ message: string }>().message).toMatch(/^Signature expired/);
  });

  it('still asks for one of the two when neither is sent', async () => {
    const { Date: _, ...withoutDate } = signWithDateHeader(now());
    const res = await send(gateway.url, { path: '/fx/items', headers: withoutDate });
    expect(res.status).toBe(403);
    expect(res.json<{ message: string }>().message).toBe(
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  });
});
