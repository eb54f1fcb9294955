/**
 * Verifies AWS Signature Version 4 on a received request the way API Gateway does for `AWS_IAM`
 * routes: parse the claim (Authorization header, or presigned query parameters), check scope and
 * clock skew, then sign the request again with the principal's secret over exactly the headers the
 * client signed and compare in constant time. Messages and error types copy API Gateway's.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { createScope, getSigningKey, SignatureV4 } from '@smithy/signature-v4';

export interface SigningPrincipal {
  readonly access_key_id: string;
  readonly secret_access_key: string;
}

export interface ReceivedRequest {
  readonly method: string;
  /** The path exactly as received (still percent-encoded), without the query. */
  readonly path: string;
  /** The query exactly as received, without `?`. */
  readonly rawQuery: string;
  /**
   * `parseQuery(rawQuery)`, when the caller parsed it already: the gateway parses once and hands
   * the same object to the handler's event, so the handler sees exactly what the signature covers.
   */
  readonly query?: ParsedQuery | null;
  /** `IncomingMessage.rawHeaders`: name/value pairs in arrival order. */
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export type SigV4Result<P> =
  | { readonly ok: true; readonly principal: P }
  | { readonly ok: false; readonly errorType: string; readonly message: string };

export interface SigV4Options<P extends SigningPrincipal> {
  readonly region: string;
  readonly service: string;
  readonly findPrincipal: (accessKeyId: string) => P | undefined;
  readonly now?: () => Date;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 5 * 60 * 1000;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface Claim {
  readonly presigned: boolean;
  readonly accessKeyId: string;
  readonly scopeDate: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** The request time as sent: `X-Amz-Date` (header or query), else the `Date` header. */
  readonly amzDate: string | undefined;
  /** Which header carried it (header auth only); it must be one of the signed headers. */
  readonly dateHeader?: 'x-amz-date' | 'date';
  readonly expiresSeconds?: number;
}

const fail = (errorType: string, message: string) => ({ ok: false, errorType, message }) as const;

/** Lower-case name → values joined with `,` (SigV4's rule for repeated headers). */
function headerMap(rawHeaders: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const value = (rawHeaders[i + 1] ?? '').trim();
    const previous = map.get(name);
    map.set(name, previous === undefined ? value : `${previous},${value}`);
  }
  return map;
}

/** Query parameters by name, values in arrival order; a name sent once has a plain string. */
export type ParsedQuery = Record<string, string | string[]>;

/**
 * The one query parser of the local gateway: the SigV4 check signs what it returns (the signer
 * encodes it again canonically) and the Lambda events' `queryStringParameters` /
 * `multiValueQueryStringParameters` are built from the same result, so a handler can only see the
 * values the signature covered. Percent-decoding only, like API Gateway REST: `+` stays `+` (not a
 * space, as `URLSearchParams` would make it). `null` when a pair is not valid percent-encoding.
 */
export function parseQuery(rawQuery: string): ParsedQuery | null {
  // No prototype: `__proto__` or `constructor` are ordinary parameter names here.
  const query: ParsedQuery = Object.create(null);
  try {
    for (const pair of rawQuery.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
      const existing = query[key];
      query[key] =
        existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
  } catch {
    return null;
  }
  return query;
}

function fromCredential(credential: string) {
  const [accessKeyId = '', scopeDate = '', region = '', service = '', terminator = ''] =
    credential.split('/');
  return { accessKeyId, scopeDate, region, service, terminator };
}

function headerClaim(authorization: string, headers: Map<string, string>): Claim | string {
  // API Gateway takes the request time from X-Amz-Date, else from the standard Date header.
  const dateHeader = headers.has('x-amz-date') ? 'x-amz-date' : headers.has('date') ? 'date' : undefined;
  const amzDate = dateHeader ? headers.get(dateHeader) : undefined;
  const [algorithm, ...rest] = authorization.trim().split(/\s+/);
  const params = new Map<string, string>();
  for (const part of rest.join(' ').split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders']
    .filter((p) => !params.get(p))
    .map((p) => `Authorization header requires '${p}' parameter.`);
  if (!amzDate)
    missing.push("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  if (algorithm !== ALGORITHM || missing.length) {
    return algorithm === ALGORITHM
      ? missing.join(' ')
      : `Authorization header requires '${ALGORITHM}' signatures.`;
  }
  return {
    presigned: false,
    ...fromCredential(params.get('Credential') ?? ''),
    signedHeaders: (params.get('SignedHeaders') ?? '').split(';'),
    signature: params.get('Signature') ?? '',
    amzDate,
    ...(dateHeader ? { dateHeader } : {}),
  };
}

function queryClaim(query: Record<string, string | string[]>): Claim | string {
  const one = (name: string) => {
    const v = query[name];
    return typeof v === 'string' ? v : undefined;
  };
  const missing = [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-SignedHeaders',
    'X-Amz-Date',
    'X-Amz-Expires',
  ]
    .filter((p) => !one(p))
    .map((p) => `AWS query-string parameters must include '${p}'.`);
  if (missing.length) return missing.join(' ');
  if (one('X-Amz-Algorithm') !== ALGORITHM) return `X-Amz-Algorithm only supports '${ALGORITHM}'.`;
  const expires = Number(one('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > 604800)
    return 'X-Amz-Expires must be 1 to 604800 seconds.';
  return {
    presigned: true,
    ...fromCredential(one('X-Amz-Credential') ?? ''),
    signedHeaders: (one('X-Amz-SignedHeaders') ?? '').split(';'),
    signature: one('X-Amz-Signature') ?? '',
    amzDate: one('X-Amz-Date'),
    expiresSeconds: expires,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An HTTP `Date` (IMF-fixdate, `Tue, 02 Jan 2024 03:04:05 GMT`) → Date; undefined when malformed. */
function parseHttpDate(value: string): Date | undefined {
  const m = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/.exec(
    value,
  );
  const month = MONTHS.indexOf(m?.[2] ?? '');
  if (!m || month < 0) return undefined;
  const date = new Date(
    Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6])),
  );
  return Number.isNaN(date.getTime()) || date.getUTCDate() !== Number(m[1]) ? undefined : date;
}

/** `20240102T030405Z` → Date; undefined when malformed. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const amz = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');

function checkTime(claim: Claim, signedAt: Date, now: Date): string | undefined {
  const stamp = claim.amzDate ?? '';
  if (claim.presigned && claim.expiresSeconds !== undefined) {
    const expiresAt = new Date(signedAt.getTime() + claim.expiresSeconds * 1000);
    if (expiresAt < now) return `Signature expired: ${amz(expiresAt)} is now earlier than ${amz(now)}.`;
  } else if (signedAt.getTime() < now.getTime() - MAX_SKEW_MS) {
    const limit = new Date(now.getTime() - MAX_SKEW_MS);
    return `Signature expired: ${stamp} is now earlier than ${amz(limit)} (${amz(now)} - 5 min.)`;
  }
  if (signedAt.getTime() > now.getTime() + MAX_SKEW_MS) {
    const limit = new Date(now.getTime() + MAX_SKEW_MS);
    return `Signature not yet current: ${stamp} is still later than ${amz(limit)} (${amz(now)} + 5 min.)`;
  }
  return undefined;
}

/** Exposes the SDK signer's canonical request (path and query canonicalisation) to the verifier. */
class CanonicalRequests extends SignatureV4 {
  canonicalRequest(request: HttpRequest, headers: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, headers, payloadHash);
  }
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

async function expectedSignature(
  claim: Claim,
  principal: SigningPrincipal,
  request: ReceivedRequest,
  headers: Map<string, string>,
  query: ParsedQuery,
  signedAt: Date,
): Promise<string | undefined> {
  const credentials = {
    accessKeyId: principal.access_key_id,
    secretAccessKey: principal.secret_access_key,
  };
  const signer = new CanonicalRequests({
    credentials,
    region: claim.region,
    service: claim.service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const base = {
    method: request.method,
    protocol: 'http:',
    hostname: headers.get('host') ?? '',
    path: request.path,
    body: request.body.length ? request.body : undefined,
  };
  if (claim.presigned) {
    const signed: Record<string, string> = {};
    for (const name of claim.signedHeaders) {
      const value = headers.get(name);
      if (value !== undefined) signed[name] = value;
    }
    // The signer adds the X-Amz-* auth parameters itself; give it the rest of the query.
    const rest = Object.fromEntries(
      Object.entries(query).filter(
        ([k]) => !/^x-amz-(algorithm|credential|date|expires|signedheaders|signature)$/i.test(k),
      ),
    );
    const out = await signer.presign(new HttpRequest({ ...base, headers: signed, query: rest }), {
      signingDate: signedAt,
      expiresIn: claim.expiresSeconds ?? 0,
      signableHeaders: new Set(claim.signedHeaders),
    });
    const sig = out.query?.['X-Amz-Signature'];
    return typeof sig === 'string' ? sig : undefined;
  }
  // Header auth: canonical headers are exactly the ones the client listed (the SDK's sign() would
  // replace a signed `Date` with its own X-Amz-Date), the rest is the SDK's canonicalisation.
  const canonicalHeaders: Record<string, string> = {};
  for (const name of claim.signedHeaders) {
    const value = headers.get(name);
    if (value === undefined) return undefined;
    canonicalHeaders[name] = value.replace(/\s+/g, ' ');
  }
  // The caller checked any x-amz-content-sha256 against the body: the payload hash is the body's.
  const canonical = signer.canonicalRequest(
    new HttpRequest({ ...base, headers: canonicalHeaders, query }),
    canonicalHeaders,
    sha256Hex(request.body),
  );
  const longDate = amz(signedAt);
  const shortDate = longDate.slice(0, 8);
  const stringToSign = [
    ALGORITHM,
    longDate,
    createScope(shortDate, claim.region, claim.service),
    sha256Hex(canonical),
  ].join('\n');
  const key = await getSigningKey(Sha256, credentials, shortDate, claim.region, claim.service);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

function sameSignature(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function verifySigV4<P extends SigningPrincipal>(
  request: ReceivedRequest,
  options: SigV4Options<P>,
): Promise<SigV4Result<P>> {
  const headers = headerMap(request.rawHeaders);
  const query = request.query === undefined ? parseQuery(request.rawQuery) : request.query;
  if (!query) return fail('InvalidSignatureException', MISMATCH);
  const authorization = headers.get('authorization');
  const presigned = !authorization && query['X-Amz-Signature'] !== undefined;
  if (!authorization && !presigned)
    return fail('MissingAuthenticationTokenException', 'Missing Authentication Token');

  const claim = authorization ? headerClaim(authorization, headers) : queryClaim(query);
  if (typeof claim === 'string') return fail('IncompleteSignatureException', claim);
  if (claim.terminator !== 'aws4_request' || !/^\d{8}$/.test(claim.scopeDate)) {
    return fail(
      'IncompleteSignatureException',
      `Credential should be scoped with a valid terminator: 'aws4_request'.`,
    );
  }
  if (claim.service !== options.service) {
    return fail(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${options.service}'.`,
    );
  }
  if (claim.region !== options.region) {
    return fail(
      'InvalidSignatureException',
      `Credential should be scoped to a valid region, not '${claim.region}'.`,
    );
  }
  if (!claim.signedHeaders.includes('host')) {
    return fail(
      'InvalidSignatureException',
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    );
  }
  const signedAt =
    parseAmzDate(claim.amzDate ?? '') ??
    (claim.dateHeader === 'date' ? parseHttpDate(claim.amzDate ?? '') : undefined);
  if (!signedAt) return fail('IncompleteSignatureException', `Date must be in ISO-8601 'basic format'.`);
  if (amz(signedAt).slice(0, 8) !== claim.scopeDate) {
    return fail(
      'InvalidSignatureException',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${claim.scopeDate}' != '${amz(signedAt).slice(0, 8)}', from '${claim.amzDate}'.`,
    );
  }
  // The request time is part of what is signed: a header carrying it must be a signed header.
  if (claim.dateHeader && !claim.signedHeaders.includes(claim.dateHeader))
    return fail('InvalidSignatureException', MISMATCH);
  const stale = checkTime(claim, signedAt, options.now?.() ?? new Date());
  if (stale) return fail('InvalidSignatureException', stale);

  const principal = options.findPrincipal(claim.accessKeyId);
  // Local principals are long-term keys: a session token cannot belong to them.
  if (!principal || headers.has('x-amz-security-token') || query['X-Amz-Security-Token'] !== undefined) {
    return fail('UnrecognizedClientException', 'The security token included in the request is invalid.');
  }
  // The signer trusts a given payload hash; the gateway must check it against the bytes received.
  const declaredHash = headers.get('x-amz-content-sha256');
  if (
    declaredHash !== undefined &&
    declaredHash !== createHash('sha256').update(request.body).digest('hex')
  ) {
    return fail('InvalidSignatureException', MISMATCH);
  }
  const expected = await expectedSignature(claim, principal, request, headers, query, signedAt);
  if (!expected || !sameSignature(expected, claim.signature))
    return fail('InvalidSignatureException', MISMATCH);
  return { ok: true, principal };
}
