/** SigV4 on management (IAM) routes, through the real local gateway. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LocalStack } from '../../local/stack';
import { type HttpResponse, send, sendSigned, signRequest, startTestStack } from '../support/local-stack';

const run = promisify(execFile);
let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(() => stack?.stop());

const admin = () => {
  const p = stack.credentials[0];
  if (!p) throw new Error('no principal');
  return p;
};

/** Passed authentication and reached the real handler: `GET /v1/api-keys/scopes` answers the catalog. */
function expectScopeCatalog(res: Pick<HttpResponse, 'status' | 'text'>): void {
  expect(res.status).toBe(200);
  const body = JSON.parse(res.text) as { items: { scope: string }[] };
  expect(body.items.map((e) => e.scope)).toContain('agents:read');
}

/** `POST /v1/api-keys` with `{"name":"demo","scopes":["agents:read"]}` created the key. */
function expectCreated(res: Pick<HttpResponse, 'status' | 'text'>): void {
  expect(res.status).toBe(201);
  expect(JSON.parse(res.text)).toMatchObject({
    id: expect.stringMatching(/^[0-9A-Za-z]{12}$/),
    name: 'demo',
    scopes: ['agents:read'],
    status: 'active',
    key: expect.stringMatching(/^sk_/),
  });
}

/** `GET /v1/api-keys?limit=N&status=active...` listed `id` among active keys only, as the signed query asked. */
function expectActiveKeys(res: Pick<HttpResponse, 'status' | 'text'>, limit: number, id: string): void {
  expect(res.status).toBe(200);
  const items = (JSON.parse(res.text) as { items: { id: string; status: string }[] }).items;
  expect(items.map((i) => i.id)).toContain(id);
  expect(items.length).toBeLessThanOrEqual(limit);
  for (const item of items) expect(item.status).toBe('active');
}

/** A fresh key to look for in listings (newest first, so it is on the first page). */
async function createDemoKey(): Promise<string> {
  const res = await sendSigned(stack.url, {
    principal: admin(),
    method: 'POST',
    path: '/v1/api-keys',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'demo', scopes: ['agents:read'] }),
  });
  expectCreated(res);
  return res.json<{ id: string }>().id;
}

function expectForbidden(res: HttpResponse, message: RegExp): void {
  expect(res.status).toBe(403);
  expect(res.json<{ message: string }>().message).toMatch(message);
}

describe('SigV4 on IAM routes', () => {
  it('accepts a request signed like an AWS SDK client', async () => {
    const res = await sendSigned(stack.url, { principal: admin(), path: '/v1/api-keys/scopes' });
    expect(res.headers['x-amzn-errortype']).toBeUndefined();
    expectScopeCatalog(res);
  });

  it('accepts a signed JSON body and a signed query string', async () => {
    const body = JSON.stringify({ name: 'demo', scopes: ['agents:read'] });
    const headers = { 'content-type': 'application/json' };
    const created = await sendSigned(stack.url, {
      principal: admin(),
      method: 'POST',
      path: '/v1/api-keys',
      headers,
      body,
    });
    expectCreated(created);
    const listed = await sendSigned(stack.url, {
      principal: admin(),
      path: '/v1/api-keys',
      query: 'status=active&limit=5&scope=agents%3Aread',
    });
    expectActiveKeys(listed, 5, created.json<{ id: string }>().id);
    for (const item of listed.json<{ items: { scopes: string[] }[] }>().items)
      expect(item.scopes).toContain('agents:read');
    // Without x-amz-content-sha256, the gateway hashes the body itself.
    expectCreated(
      await sendSigned(stack.url, {
        principal: admin(),
        method: 'POST',
        path: '/v1/api-keys',
        headers,
        body,
        applyChecksum: false,
      }),
    );
  });

  it('accepts every local principal', async () => {
    for (const principal of stack.credentials) {
      expectScopeCatalog(await sendSigned(stack.url, { principal, path: '/v1/api-keys/scopes' }));
    }
  });

  it('refuses an unsigned request with Missing Authentication Token', async () => {
    const res = await send(stack.url, { path: '/v1/api-keys/scopes' });
    expectForbidden(res, /^Missing Authentication Token$/);
    expect(res.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
  });

  it('refuses a wrong secret', async () => {
    const principal = { access_key_id: admin().access_key_id, secret_access_key: 'not-the-secret' };
    const res = await sendSigned(stack.url, { principal, path: '/v1/api-keys/scopes' });
    expectForbidden(res, /signature we calculated does not match/);
  });

  it('refuses an unknown access key', async () => {
    const principal = { access_key_id: 'AKIAUNKNOWNUNKNOWN00', secret_access_key: admin().secret_access_key };
    const res = await sendSigned(stack.url, { principal, path: '/v1/api-keys/scopes' });
    expectForbidden(res, /security token included in the request is invalid/);
  });

  it('refuses a signature older than five minutes', async () => {
    const signingDate = new Date(Date.now() - 10 * 60 * 1000);
    const res = await sendSigned(stack.url, { principal: admin(), path: '/v1/api-keys/scopes', signingDate });
    expectForbidden(res, /^Signature expired: \d{8}T\d{6}Z is now earlier than/);
  });

  it('refuses a signature dated in the future', async () => {
    const signingDate = new Date(Date.now() + 10 * 60 * 1000);
    const res = await sendSigned(stack.url, { principal: admin(), path: '/v1/api-keys/scopes', signingDate });
    expectForbidden(res, /^Signature not yet current/);
  });

  it('refuses a body changed after signing, with or without x-amz-content-sha256', async () => {
    for (const applyChecksum of [true, false]) {
      const signed = await signRequest(stack.url, {
        principal: admin(),
        method: 'POST',
        path: '/v1/api-keys',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"demo","scopes":["agents:read"]}',
        applyChecksum,
      });
      const res = await send(stack.url, { ...signed, body: '{"name":"demo","scopes":["agents:admin"]}' });
      expectForbidden(res, /signature we calculated does not match/);
    }
  });

  it('refuses a changed path or query after signing', async () => {
    const signed = await signRequest(stack.url, {
      principal: admin(),
      path: '/v1/api-keys',
      query: 'limit=5',
    });
    expectForbidden(await send(stack.url, { ...signed, query: 'limit=6' }), /does not match/);
    expectForbidden(await send(stack.url, { ...signed, path: '/v1/audit' }), /does not match/);
  });

  it('refuses credentials scoped to another service or region', async () => {
    expectForbidden(
      await sendSigned(stack.url, { principal: admin(), path: '/v1/api-keys/scopes', service: 'lambda' }),
      /correct service: 'execute-api'/,
    );
    expectForbidden(
      await sendSigned(stack.url, { principal: admin(), path: '/v1/api-keys/scopes', region: 'eu-west-1' }),
      /valid region, not 'eu-west-1'/,
    );
  });

  it('refuses a Bearer token on an IAM route', async () => {
    const res = await send(stack.url, {
      path: '/v1/api-keys/scopes',
      headers: { authorization: 'Bearer sk_dev_x' },
    });
    expect(res.status).toBe(403);
  });

  describe('curl --aws-sigv4', () => {
    const curl = async (args: string[]) => {
      const p = admin();
      const { stdout } = await run('curl', [
        '-sS',
        '-w',
        '\n%{http_code}',
        '--aws-sigv4',
        'aws:amz:us-east-1:execute-api',
        '--user',
        `${p.access_key_id}:${p.secret_access_key}`,
        ...args,
      ]);
      const lines = stdout.trimEnd().split('\n');
      return { status: Number(lines.pop()), text: lines.join('\n') };
    };

    it('is on PATH (these tests must not pass silently without it)', async () => {
      await expect(run('curl', ['--version'])).resolves.toBeDefined();
    });

    it('passes with a JSON body, as docs/local-stack.md promises', async () => {
      const res = await curl([
        '-H',
        'content-type: application/json',
        '-d',
        '{"name":"demo","scopes":["agents:read"]}',
        `${stack.url}/v1/api-keys`,
      ]);
      expectCreated(res);
    });

    it('passes without a body and with a query string', async () => {
      expectScopeCatalog(await curl([`${stack.url}/v1/api-keys/scopes`]));
      // curl 7.88 signs the query string as it is in the URL: unsorted and not re-encoded, where
      // SigV4's canonical query is sorted and encoded. Only a query already in canonical form (keys
      // sorted, nothing to encode) signs the same on both sides, hence `limit` before `status`.
      const id = await createDemoKey();
      expectActiveKeys(await curl([`${stack.url}/v1/api-keys?limit=5&status=active`]), 5, id);
    });

    it('fails with the wrong secret', async () => {
      const { stdout } = await run('curl', [
        '-sS',
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        '--aws-sigv4',
        'aws:amz:us-east-1:execute-api',
        '--user',
        `${admin().access_key_id}:wrong`,
        `${stack.url}/v1/api-keys/scopes`,
      ]);
      expect(stdout).toBe('403');
    });
  });
});
