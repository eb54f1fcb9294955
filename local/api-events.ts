/**
 * Builds the events API Gateway (REST, v1) hands to Lambda: the proxy integration event and the
 * REQUEST authorizer event, from one received request.
 */
import { createHash, randomUUID } from 'node:crypto';
import type {
  APIGatewayEventIdentity,
  APIGatewayEventRequestContextWithAuthorizer,
  APIGatewayProxyEvent,
  APIGatewayRequestAuthorizerEvent,
} from 'aws-lambda';
import type { RouteDeclaration } from '../lib/declaration';
import { LOCAL_ACCOUNT_ID, type LocalPrincipal } from './credentials';
import type { ParsedQuery } from './sigv4';

const STAGE = 'local';
const API_ID = 'local';

export interface GatewayRequest {
  readonly requestId: string;
  readonly receivedAt: Date;
  readonly method: string;
  /**
   * Percent-encoded as received, without the query, and normalized as the router matched it (one
   * trailing slash removed): the event's `path` and the authorizer's `methodArn` come from it, so
   * the policy the authorizer returns for `/a/b` also covers a request for `/a/b/`.
   */
  readonly path: string;
  readonly rawQuery: string;
  /** `parseQuery(rawQuery)`: the same parse the SigV4 check signed, never a second parser. */
  readonly query: ParsedQuery;
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly localPort: number;
  readonly route: RouteDeclaration;
  readonly pathParameters: Record<string, string>;
  /** A registered API's stage variables (`latchkeyApi`), as the consumer construct sets them. */
  readonly stageVariables?: Readonly<Record<string, string>>;
}

export function methodArn(region: string, method: string, path: string): string {
  return `arn:aws:execute-api:${region}:${LOCAL_ACCOUNT_ID}:${API_ID}/${STAGE}/${method}/${path.replace(/^\//, '')}`;
}

const FORWARDED = new Set(['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto']);

/** Case-preserved headers as the client sent them, plus the X-Forwarded-* API Gateway adds. */
function parseHeaders(req: GatewayRequest) {
  const multi: Record<string, string[]> = {};
  const nameOf = new Map<string, string>();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (FORWARDED.has(lower)) continue;
    const key = nameOf.get(lower) ?? name;
    nameOf.set(lower, key);
    const values = multi[key];
    if (values) values.push(req.rawHeaders[i + 1] ?? '');
    else multi[key] = [req.rawHeaders[i + 1] ?? ''];
  }
  multi['X-Forwarded-For'] = [req.sourceIp];
  multi['X-Forwarded-Port'] = [String(req.localPort)];
  multi['X-Forwarded-Proto'] = ['http'];
  if (!nameOf.has('x-amzn-trace-id'))
    multi['X-Amzn-Trace-Id'] = [
      `Root=1-${Math.floor(req.receivedAt.getTime() / 1000).toString(16)}-${randomUUID().replace(/-/g, '').slice(0, 24)}`,
    ];
  const single = Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v[v.length - 1] ?? '']));
  const header = (lower: string) => {
    const key = nameOf.get(lower);
    return key ? single[key] : undefined;
  };
  return { single, multi, header };
}

/**
 * Parsed once per request: the authorizer's event and the integration's are built from the same
 * request, each with its own copies (a handler may change its event).
 */
const parsedHeaders = new WeakMap<GatewayRequest, ReturnType<typeof parseHeaders>>();

function headersOf(req: GatewayRequest) {
  let parsed = parsedHeaders.get(req);
  if (!parsed) {
    parsed = parseHeaders(req);
    parsedHeaders.set(req, parsed);
  }
  const multi = Object.fromEntries(Object.entries(parsed.multi).map(([k, v]) => [k, [...v]]));
  return { single: { ...parsed.single }, multi, header: parsed.header };
}

function queryOf(query: ParsedQuery) {
  const multi: Record<string, string[]> = Object.fromEntries(
    Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]),
  );
  if (Object.keys(multi).length === 0) return { single: null, multi: null };
  const single = Object.fromEntries(Object.entries(multi).map(([k, v]) => [k, v[v.length - 1] ?? '']));
  return { single, multi };
}

/** `09/Apr/2015:12:34:56 +0000`, API Gateway's `requestTime`. */
function requestTime(d: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A stable IAM-style unique id (`AIDA...`) for a local user. */
function userId(p: LocalPrincipal): string {
  return `AIDA${createHash('sha256').update(p.arn).digest('hex').slice(0, 17).toUpperCase()}`;
}

function identity(
  req: GatewayRequest,
  userAgent: string | undefined,
  principal?: LocalPrincipal,
): APIGatewayEventIdentity {
  return {
    accessKey: principal?.access_key_id ?? null,
    accountId: principal ? LOCAL_ACCOUNT_ID : null,
    apiKey: null,
    apiKeyId: null,
    caller: principal ? userId(principal) : null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: req.sourceIp,
    user: principal ? userId(principal) : null,
    userAgent: userAgent ?? null,
    userArn: principal?.arn ?? null,
  };
}

const resourceIds = new Map<string, string>();

/** A stable short id per resource path, as API Gateway has; computed once per path. */
function resourceIdOf(path: string): string {
  let id = resourceIds.get(path);
  if (!id) {
    id = createHash('sha256').update(path).digest('hex').slice(0, 6);
    resourceIds.set(path, id);
  }
  return id;
}

function requestContext<A>(
  req: GatewayRequest,
  host: string | undefined,
  id: APIGatewayEventIdentity,
  authorizer: A,
): APIGatewayEventRequestContextWithAuthorizer<A> {
  return {
    accountId: LOCAL_ACCOUNT_ID,
    apiId: API_ID,
    authorizer,
    domainName: host ?? '127.0.0.1',
    domainPrefix: (host ?? '127').split('.')[0],
    extendedRequestId: req.requestId.slice(0, 16),
    httpMethod: req.method,
    identity: id,
    path: `/${STAGE}${req.path}`,
    protocol: 'HTTP/1.1',
    requestId: req.requestId,
    requestTime: requestTime(req.receivedAt),
    requestTimeEpoch: req.receivedAt.getTime(),
    resourceId: resourceIdOf(req.route.path),
    resourcePath: req.route.path,
    stage: STAGE,
  };
}

function common(req: GatewayRequest) {
  const headers = headersOf(req);
  const query = queryOf(req.query);
  return {
    headers,
    base: {
      resource: req.route.path,
      path: req.path,
      httpMethod: req.method,
      headers: headers.single,
      multiValueHeaders: headers.multi,
      queryStringParameters: query.single,
      multiValueQueryStringParameters: query.multi,
      pathParameters: Object.keys(req.pathParameters).length ? req.pathParameters : null,
      stageVariables: req.stageVariables ? { ...req.stageVariables } : null,
    },
  };
}

export function authorizerEvent(req: GatewayRequest, region: string): APIGatewayRequestAuthorizerEvent {
  const { headers, base } = common(req);
  const id = identity(req, headers.header('user-agent'));
  return {
    type: 'REQUEST',
    methodArn: methodArn(region, req.method, req.path),
    ...base,
    requestContext: requestContext(req, headers.header('host'), id, undefined),
  };
}

export function proxyEvent(
  req: GatewayRequest,
  options: { principal?: LocalPrincipal; authorizer?: Record<string, string> },
): APIGatewayProxyEvent {
  const { headers, base } = common(req);
  const id = identity(req, headers.header('user-agent'), options.principal);
  return {
    ...base,
    body: req.body.length ? req.body.toString('utf8') : null,
    isBase64Encoded: false,
    requestContext: requestContext(req, headers.header('host'), id, options.authorizer ?? null),
  };
}
