/**
 * One signed request to Latchkey's management API, for the `latchkey` CLI (Node) and the admin
 * console (browsers) alike: SigV4 for `execute-api` with the SDK's own signer and a pure-JS SHA-256
 * (no `node:crypto`, so it bundles for the browser), the global `fetch`, and the error shape of
 * docs/management-api.md turned into a `ManagementApiError`. It holds no credentials of its own:
 * the caller passes a provider (the AWS default chain, a Cognito identity pool, a local principal).
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

export interface ManagementApiOptions {
  /** The API's base URL with its stage, e.g. `https://abc.execute-api.eu-west-1.amazonaws.com/prod/`. */
  readonly baseUrl: string;
  /** The region requests are signed for. */
  readonly region: string;
  /** Asked before every request (a provider caches and refreshes on its own). */
  readonly credentials: () => Promise<AwsCredentials>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** How long one call may take before it is abandoned. @default - no limit */
  readonly timeoutMs?: number;
  /**
   * The SHA-256 the signer uses (e.g. one on `node:crypto`, faster on a service's hot path).
   * @default - `@aws-crypto/sha256-js`, which runs anywhere
   */
  readonly sha256?: ConstructorParameters<typeof SignatureV4>[0]['sha256'];
}

/** A field the API named as wrong, from `error.details`. */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/** A non-2xx answer: the API's `error.code`, `error.message` and `error.details`. */
export class ManagementApiError extends Error {
  override readonly name = 'ManagementApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly FieldProblem[] = [],
    /** Seconds, from `Retry-After`, when the API gave one. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
}

/** A raw answer, for routes that are not JSON (CSV export) or whose headers matter. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** `GET /v1/...` → a URL under the base (the stage path kept). */
function resolve(base: URL, path: string, query: Query | undefined): URL {
  const url = new URL(path.replace(/^\//, ''), base);
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) url.searchParams.append(name, String(v));
    else url.searchParams.append(name, String(value));
  }
  return url;
}

function problemsOf(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((d): d is { field?: unknown; message?: unknown } => typeof d === 'object' && d !== null)
    .map((d) => ({ field: String(d.field ?? ''), message: String(d.message ?? '') }));
}

/** The error an answer stands for: the API's error shape, or API Gateway's `{ message }`. */
export function errorFromResponse(status: number, text: string, headers?: Headers): ManagementApiError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const body = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    error?: { code?: unknown; message?: unknown; details?: unknown };
    message?: unknown;
    Message?: unknown;
  };
  const retry = Number(headers?.get('retry-after'));
  const gatewayMessage = body.message ?? body.Message;
  return new ManagementApiError(
    status,
    typeof body.error?.code === 'string'
      ? body.error.code
      : status === 403
        ? 'access_denied'
        : status === 404
          ? 'not_found'
          : `http_${status}`,
    typeof body.error?.message === 'string'
      ? body.error.message
      : typeof gatewayMessage === 'string'
        ? gatewayMessage
        : `The management API answered ${status}`,
    problemsOf(body.error?.details),
    Number.isFinite(retry) && retry > 0 ? retry : null,
  );
}

export class ManagementApi {
  private readonly base: URL;
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number | undefined;

  constructor(options: ManagementApiOptions) {
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.signer = new SignatureV4({
      service: 'execute-api',
      region: options.region,
      credentials: options.credentials,
      sha256: options.sha256 ?? Sha256,
    });
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs;
  }

  /** The base URL requests go to. */
  get baseUrl(): string {
    return this.base.toString();
  }

  /** Signs and sends one request; answers whatever came back, 2xx or not. */
  async raw(method: string, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    const url = resolve(this.base, path, options.query);
    const text = options.body === undefined ? undefined : JSON.stringify(options.body);
    const query: Record<string, string | string[]> = {};
    url.searchParams.forEach((value, name) => {
      const seen = query[name];
      query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
    });
    const signed = await this.signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: {
        host: url.host,
        ...(text !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(text !== undefined ? { body: text } : {}),
    });
    // fetch sets Host itself (browsers forbid setting it), to the value that was signed.
    const { host: _host, ...headers } = signed.headers;
    const response = await this.fetch(url, {
      method,
      headers,
      ...(text !== undefined ? { body: text } : {}),
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  }

  /** A JSON route: its parsed body, or a `ManagementApiError` for any non-2xx answer. */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const answer = await this.raw(method, path, options);
    if (answer.status < 200 || answer.status > 299) {
      throw errorFromResponse(answer.status, answer.text, answer.headers);
    }
    if (answer.text === '') return undefined as T;
    try {
      return JSON.parse(answer.text) as T;
    } catch {
      throw new ManagementApiError(
        answer.status,
        'invalid_response',
        'The management API answered without JSON',
      );
    }
  }
}
