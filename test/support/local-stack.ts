/**
 * Helpers for tests that go through the local gateway: start a stack on random ports against
 * Jest's DynamoDB Local, and send SigV4-signed (or plain) requests to it.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LocalPrincipal } from '../../local/credentials';
import { parseQuery } from '../../local/sigv4';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../local/stack';
import { seedTestTenancy } from './tenancy';

/**
 * One stack per test file (the environment is process-wide): call in `beforeAll`, stop in
 * `afterAll`. Besides what the stack seeds itself, the test tenancy (`tenancy.ts`) is seeded.
 */
export async function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint)
    throw new Error(
      'AWS_ENDPOINT_URL_DYNAMODB is not set: run through Jest (its global setup starts DynamoDB Local)',
    );
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint: endpoint,
    inMemory: true,
    quiet: true,
    tablePrefix: `t${randomUUID().slice(0, 8)}`,
    ...options,
  });
  await seedTestTenancy();
  return stack;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = unknown>(): T;
}

export interface SendOptions {
  readonly method?: string;
  readonly path: string;
  /** Appended as is (already encoded), without `?`. */
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** A plain HTTP request (node:http, so `host` and every header go out exactly as given). */
export function send(baseUrl: string, options: SendOptions): Promise<HttpResponse> {
  const url = new URL(baseUrl);
  return new Promise((ok, fail) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: `${options.path}${options.query ? `?${options.query}` : ''}`,
        headers: options.headers ?? {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          ok({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
        });
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export interface SignOptions extends SendOptions {
  readonly principal: Pick<LocalPrincipal, 'access_key_id' | 'secret_access_key'>;
  readonly signingDate?: Date;
  readonly service?: string;
  readonly region?: string;
  /** Send the `x-amz-content-sha256` header (SignatureV4's default). */
  readonly applyChecksum?: boolean;
}

/** Signs like an AWS SDK client (SignatureV4 over host, x-amz-date, content type, body). */
export async function signRequest(baseUrl: string, options: SignOptions): Promise<SendOptions> {
  const url = new URL(baseUrl);
  const query = parseQuery(options.query ?? '') ?? {};
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: options.principal.access_key_id,
      secretAccessKey: options.principal.secret_access_key,
    },
    region: options.region ?? 'us-east-1',
    service: options.service ?? 'execute-api',
    sha256: Sha256,
    applyChecksum: options.applyChecksum ?? true,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: options.method ?? 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: options.path,
      query,
      headers: { host: url.host, ...(options.headers ?? {}) },
      ...(options.body !== undefined ? { body: options.body } : {}),
    }),
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  return { ...options, headers: signed.headers };
}

export async function sendSigned(baseUrl: string, options: SignOptions): Promise<HttpResponse> {
  return send(baseUrl, await signRequest(baseUrl, options));
}

/** A JSON call signed as `principal`: its status and parsed body (the management API's tests). */
export async function signedJson(
  baseUrl: string,
  principal: LocalPrincipal,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await sendSigned(baseUrl, {
    principal,
    method,
    path,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, body: res.json<Record<string, unknown>>() };
}
