/**
 * `latchkey/client`: a small client of Latchkey's management API for services and pipelines
 * (docs/protecting-apis.md). Requests are SigV4-signed for `execute-api`, as API Gateway's `AWS_IAM`
 * authorization wants, with the caller's own AWS credentials: on Lambda (and anywhere the standard
 * `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables are set) nothing
 * needs configuring; elsewhere pass `credentials` (e.g. from `@aws-sdk/credential-providers`).
 *
 * `verify()` asks `POST /v1/keys/verify` for the authorizer's decision on a key, for services that
 * are not behind API Gateway; `putApi()` / `getApi()` / `listApis()` manage API registrations.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { OutcomeCode, VerifyResult } from '../functions/domain/outcomes';
import { ManagementApi, ManagementApiError } from './management';

export type { OutcomeCode, VerifyResult };

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface LatchkeyClientOptions {
  /**
   * Base URL of Latchkey's REST API: the stack output `ApiUrl` (SSM `/latchkey/api-url`), e.g.
   * `https://abc123.execute-api.eu-west-1.amazonaws.com/prod/`.
   */
  readonly baseUrl: string;
  /**
   * The region requests are signed for.
   * @default - the region in an `execute-api` URL, else `AWS_REGION`
   */
  readonly region?: string;
  /**
   * @default - the `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` variables (a Lambda function's role)
   */
  readonly credentials?: Credentials | (() => Promise<Credentials>);
  /**
   * How long one call may take before it is abandoned (and, by the middleware, refused).
   * @default 3000
   */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** What `verify()` asks: a key, and a route of a registered API or a scope. */
export interface VerifyRequest {
  /** The token the caller presented; absent or empty: `missing_token`. */
  readonly key?: string | undefined;
  /** The registered API. @default 'default' (Latchkey's built-in registration) */
  readonly api?: string;
  /** `"METHOD /path"` as in the API's route map (give this or `scope`). */
  readonly route?: string;
  /** A scope the key must hold (give this or `route`). */
  readonly scope?: string;
  /** The caller's IP, for keys with an IP allowlist (without it, such keys are refused). */
  readonly sourceIp?: string | undefined;
}

export interface ScopeDefinition {
  readonly scope: string;
  readonly description: string;
  readonly risk_level: 'low' | 'medium' | 'high' | 'critical';
}

/** The body of `PUT /v1/apis/{api}` (docs/management-api.md). */
export interface ApiDefinition {
  readonly owner: string;
  readonly description?: string;
  readonly organization_id?: string;
  readonly environment?: 'production' | 'staging' | 'sandbox' | 'development' | null;
  readonly accounts?: readonly string[];
  readonly scopes?: readonly ScopeDefinition[];
  readonly routes: Readonly<Record<string, string>>;
}

export interface ApiRegistration {
  readonly name: string;
  readonly owner: string;
  readonly description?: string;
  readonly organization_id: string;
  readonly environment: string | null;
  readonly accounts: string[];
  readonly scopes: (ScopeDefinition & { readonly module: string; readonly permission: string })[];
  readonly routes: Record<string, string>;
  readonly built_in: boolean;
  readonly version: number | null;
}

/** A refusal of the management API itself (bad input, missing IAM permission, ...): never a key decision. */
export class LatchkeyError extends Error {
  override readonly name = 'LatchkeyError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: Data): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 (and HMAC-SHA-256, given a secret) from node:crypto, in the shape SignatureV4 takes. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: Data) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Data): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function environmentCredentials(): Credentials {
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('No AWS credentials: set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or pass credentials');
  }
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

export class LatchkeyClient {
  private readonly api: ManagementApi;

  constructor(options: LatchkeyClientOptions) {
    const base = new URL(options.baseUrl);
    const region =
      options.region ??
      /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(base.hostname)?.[1] ??
      process.env.AWS_REGION;
    if (!region) throw new Error('No region: pass region, or use an execute-api URL, or set AWS_REGION');
    const given = options.credentials;
    this.api = new ManagementApi({
      baseUrl: options.baseUrl,
      region,
      // Read at each call: a Lambda role's session credentials are refreshed between invocations.
      credentials: async () =>
        given === undefined ? environmentCredentials() : typeof given === 'function' ? given() : given,
      sha256: Sha256,
      timeoutMs: options.timeoutMs ?? 3000,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** The authorizer's decision on `request.key` (docs/authorizer.md); throws only when Latchkey cannot answer. */
  async verify(request: VerifyRequest): Promise<VerifyResult> {
    return this.call<VerifyResult>('POST', 'v1/keys/verify', {
      ...(request.key !== undefined ? { key: request.key } : {}),
      ...(request.api !== undefined ? { api: request.api } : {}),
      ...(request.route !== undefined ? { route: request.route } : {}),
      ...(request.scope !== undefined ? { scope: request.scope } : {}),
      ...(request.sourceIp ? { source_ip: request.sourceIp } : {}),
    });
  }

  /** Registers `name`, or replaces its registration (the same definition again changes nothing). */
  putApi(name: string, definition: ApiDefinition): Promise<ApiRegistration> {
    return this.call('PUT', `v1/apis/${encodeURIComponent(name)}`, definition);
  }

  getApi(name: string): Promise<ApiRegistration> {
    return this.call('GET', `v1/apis/${encodeURIComponent(name)}`);
  }

  /** Every registration, the built-in one first. */
  async listApis(): Promise<ApiRegistration[]> {
    const all: ApiRegistration[] = [];
    let next: string | null = null;
    do {
      const query: string = next ? `?limit=100&next_token=${encodeURIComponent(next)}` : '?limit=100';
      const page: { items: ApiRegistration[]; next_token: string | null } = await this.call(
        'GET',
        `v1/apis${query}`,
      );
      all.push(...page.items);
      next = page.next_token;
    } while (next);
    return all;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.api.request<T>(method, path, body === undefined ? {} : { body });
    } catch (error) {
      // The client's own error type (part of its API): same status, code and message.
      if (error instanceof ManagementApiError)
        throw new LatchkeyError(error.status, error.code, error.message);
      throw error;
    }
  }
}
