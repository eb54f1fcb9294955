/**
 * The local API Gateway: one node:http server on 127.0.0.1 serving every declared route with the
 * same authorization as on AWS (SigV4 for `iam` routes, the Latchkey authorizer for protected
 * ones), the local AWS JSON endpoints (`POST /` with `X-Amz-Target`, SigV4 and local IAM as the real
 * services: `aws-json.ts`) and `/_local/*` helpers (health is open; the others answer only a request
 * the operator signed, since they show what no other principal may read).
 *
 * Choices where AWS has no local equivalent:
 * - unknown path: 404 `{"error":{"code":"not_found"}}` (clearer than AWS's 403 while developing);
 * - declared path with an undeclared method: 403 `Missing Authentication Token`, exactly as
 *   API Gateway answers, so clients see the same status locally and on AWS;
 * - a query that is not valid percent-encoding: 400 on Latchkey routes (IAM routes refuse it as a
 *   signature mismatch, 403);
 * - a route declared `mfa` answers 403 (`AccessDeniedException`, as the resource policy does on AWS)
 *   to a principal without `"mfa": true`;
 * - `trustForwardedFor`: take the source IP from the first `X-Forwarded-For` entry. For tests
 *   that simulate callers' IPs only; off by default, because any client can set that header.
 * - registered APIs (docs/protecting-apis.md) are served under `/apis/<name>/<route path>`, with
 *   the shared authorizer in front as on the team's own API, and an echo of the authorizer context
 *   behind it; refusals have the bodies the deployed gateway responses give.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { STAGE_VARIABLES } from '../lib/consumer-contract';
import type { FunctionDeclaration, RouteDeclaration } from '../lib/declaration';
import { type GatewayResponseDeclaration, renderGatewayResponse } from '../lib/gateway-responses';
import { authorizerEvent, type GatewayRequest, methodArn, proxyEvent } from './api-events';
import { runAuthorizer } from './authorize';
import { type AwsService, dispatchAwsJson } from './aws-json';
import type { ConsoleReply, ConsoleRequest } from './console';
import type { LocalPrincipal } from './credentials';
import type { AwsCaller } from './iam';
import { LambdaTimeoutError, type LocalLambdas } from './lambda';
import { matchRoute, type RouteMatch } from './router';
import { type ParsedQuery, parseQuery, verifySigV4 } from './sigv4';

/** API Gateway's payload limit; handlers enforce their own, smaller one. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** API Gateway's integration timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;

export interface GatewayOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly region: string;
  readonly routes: readonly RouteDeclaration[];
  readonly authorizer: FunctionDeclaration;
  readonly principals: () => readonly LocalPrincipal[];
  readonly lambdas: LocalLambdas;
  readonly awsServices: readonly AwsService[];
  /** Who may call the AWS endpoints, by access key id (`iam.ts` `awsCallers`). Default: nobody. */
  readonly awsCallers?: (accessKeyId: string) => AwsCaller | undefined;
  /** Extra `GET /_local/<name>` endpoints answering JSON to anyone (health). */
  readonly localEndpoints: Readonly<Record<string, LocalEndpoint>>;
  /**
   * `GET /_local/<name>` endpoints answering only a request signed (SigV4, for `service`) by a caller
   * allowed everything, i.e. the operator: they show data no other principal may read (the bus).
   */
  readonly operatorEndpoints?: Readonly<
    Record<string, { readonly service: string; readonly answer: LocalEndpoint }>
  >;
  readonly trustForwardedFor?: boolean;
  /**
   * A registered API's route → scope map, read at each request (no caching: a registration change
   * applies at once), or undefined when no API has that name.
   */
  readonly registeredApi?: (name: string) => Promise<Readonly<Record<string, string>> | undefined>;
  /** What answers a registered API's allowed calls: an echo of the authorizer context (the demo function). */
  readonly echo?: FunctionDeclaration;
  /**
   * The API's gateway responses for authorizer refusals (as `addLatchkeyGatewayResponses` sets on
   * AWS). Default: none, so API Gateway's default bodies.
   */
  readonly gatewayResponses?: readonly GatewayResponseDeclaration[];
  readonly log?: (line: string) => void;
  /** The admin console's files under `/console` (`console.ts`); undefined for any other path. */
  readonly console?: (request: ConsoleRequest) => ConsoleReply | undefined;
}

/** Where registered APIs are served: `/apis/<name>/<the route's own path>`. */
export const REGISTERED_API_PREFIX = '/apis/';

export type LocalEndpoint = () => Promise<{ status: number; body: unknown }>;

export interface Gateway {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string | string[]>;
  readonly body: Buffer | string;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

/** API Gateway's own error responses: `{"message": ...}` plus `x-amzn-ErrorType`. */
const gatewayError = (status: number, errorType: string, message: string | null) =>
  json(status, { message }, { 'x-amzn-errortype': errorType });

/**
 * A registration's routes as the router matches them: literal segments before `{param}` at each
 * position, as API Gateway prefers the most specific route.
 */
function registeredRoutes(routeScopes: Readonly<Record<string, string>>, echo: FunctionDeclaration) {
  const order = (path: string) => path.replace(/\{/g, '\uffff');
  return Object.entries(routeScopes)
    .map(([key, scope]): RouteDeclaration => {
      const [method, path] = key.split(' ') as [RouteDeclaration['method'], string];
      return { method, path, auth: { type: 'latchkey', scope }, fn: echo };
    })
    .sort((a, b) => (order(a.path) < order(b.path) ? -1 : order(a.path) > order(b.path) ? 1 : 0));
}

class BodyTooLarge extends Error {}

/** A query that is not valid percent-encoding (e.g. `?a=%zz`): nothing to hand a handler. */
const badQuery = () => gatewayError(400, 'BadRequestException', 'Invalid query string');

/** The request as the handler sees it: matched path (trailing slash removed) and parsed query. */
function routed(
  base: Omit<GatewayRequest, 'route' | 'pathParameters' | 'query'>,
  match: Extract<RouteMatch, { kind: 'route' }>,
  query: ParsedQuery,
): GatewayRequest {
  return { ...base, path: match.path, query, route: match.route, pathParameters: match.pathParameters };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((ok, fail) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) return fail(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        fail(new BodyTooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => ok(Buffer.concat(chunks)));
    req.on('error', fail);
  });
}

function sourceIp(req: IncomingMessage, trustForwardedFor: boolean): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  if (trustForwardedFor && first) return first;
  return (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
}

/** A Lambda proxy result as API Gateway reads it; anything else is a 502 there too. */
function proxyReply(result: unknown): Reply | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  if (
    typeof r.statusCode !== 'number' ||
    !Number.isInteger(r.statusCode) ||
    r.statusCode < 100 ||
    r.statusCode > 599
  ) {
    return undefined;
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') return undefined;
  const headers: Record<string, string | string[]> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries((r.headers as Record<string, unknown> | undefined) ?? {})) {
    delete headers[k.toLowerCase()];
    headers[k] = String(v);
  }
  for (const [k, v] of Object.entries((r.multiValueHeaders as Record<string, unknown> | undefined) ?? {})) {
    if (!Array.isArray(v)) return undefined;
    delete headers[k.toLowerCase()];
    headers[k] = v.map(String);
  }
  const body = typeof r.body === 'string' ? r.body : '';
  return {
    status: r.statusCode,
    headers,
    body: r.isBase64Encoded === true ? Buffer.from(body, 'base64') : body,
  };
}

/** `record[name]` when the record itself has it (a path segment like `constructor` names nothing). */
const own = <T>(record: Readonly<Record<string, T>>, name: string): T | undefined =>
  Object.hasOwn(record, name) ? record[name] : undefined;

/** How often access log lines are written, together: one write per request cost more than the request. */
const ACCESS_LOG_FLUSH_MS = 100;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const log = options.log ?? (() => {});
  let accessLines: string[] = [];
  let accessTimer: NodeJS.Timeout | undefined;
  const flushAccessLog = () => {
    accessTimer = undefined;
    if (accessLines.length) log(accessLines.join('\n'));
    accessLines = [];
  };
  const accessLog = (line: string) => {
    accessLines.push(line);
    if (!accessTimer) accessTimer = setTimeout(flushAccessLog, ACCESS_LOG_FLUSH_MS).unref();
  };
  const awsCaller = options.awsCallers ?? (() => undefined);

  async function invokeRoute(request: GatewayRequest, event: unknown): Promise<Reply> {
    try {
      const result = await options.lambdas.invoke(request.route.fn, event, {
        timeoutMs: Math.min((request.route.fn.timeoutSeconds ?? 10) * 1000, INTEGRATION_TIMEOUT_MS),
      });
      const reply = proxyReply(result);
      if (reply) return reply;
      log(`${request.route.fn.name} returned a malformed proxy response`);
    } catch (error) {
      if (error instanceof LambdaTimeoutError)
        return gatewayError(504, 'IntegrationTimeout', 'Endpoint request timed out');
      log(
        `${request.route.fn.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
    return gatewayError(502, 'InternalServerErrorException', 'Internal server error');
  }

  /** The shared authorizer, then the integration; refusals answered with the API's gateway responses. */
  async function authorizeAndInvoke(request: GatewayRequest): Promise<Reply> {
    const outcome = await runAuthorizer(
      options.lambdas,
      options.authorizer,
      authorizerEvent(request, options.region),
      log,
    );
    if (outcome.kind === 'refuse') {
      const custom =
        options.gatewayResponses && outcome.responseType
          ? renderGatewayResponse(outcome.responseType, outcome.context ?? {}, options.gatewayResponses)
          : undefined;
      if (custom) {
        return {
          status: custom.status,
          headers: { ...custom.headers, 'x-amzn-errortype': outcome.errorType },
          body: custom.body,
        };
      }
      return gatewayError(outcome.status, outcome.errorType, outcome.message);
    }
    return invokeRoute(request, proxyEvent(request, { authorizer: outcome.context }));
  }

  /** `/apis/<name>/<path>`: a registered API's route, as the team's own API Gateway would serve it. */
  async function handleRegistered(
    base: Omit<GatewayRequest, 'route' | 'pathParameters' | 'query'>,
    name: string,
    path: string,
  ): Promise<Reply> {
    const routeScopes = await options.registeredApi?.(name);
    if (!routeScopes || !options.echo) {
      return json(404, {
        error: { code: 'not_found', message: `No registered API ${JSON.stringify(name)}`, details: [] },
      });
    }
    const match = matchRoute(registeredRoutes(routeScopes, options.echo), base.method, path);
    if (match.kind === 'none') {
      return json(404, {
        error: { code: 'not_found', message: `No route for ${base.method} ${path} in ${name}`, details: [] },
      });
    }
    if (match.kind === 'method-not-declared') {
      return gatewayError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const query = parseQuery(base.rawQuery);
    if (!query) return badQuery();
    return authorizeAndInvoke({
      ...routed({ ...base, path }, match, query),
      stageVariables: { [STAGE_VARIABLES.api]: name },
    });
  }

  async function handleRoute(
    base: Omit<GatewayRequest, 'route' | 'pathParameters' | 'query'>,
  ): Promise<Reply> {
    if (base.path.startsWith(REGISTERED_API_PREFIX)) {
      const rest = base.path.slice(REGISTERED_API_PREFIX.length);
      const slash = rest.indexOf('/');
      const name = slash < 0 ? rest : rest.slice(0, slash);
      return handleRegistered(base, name, slash < 0 ? '/' : rest.slice(slash));
    }
    const match = matchRoute(options.routes, base.method, base.path);
    if (match.kind === 'none') {
      return json(404, {
        error: { code: 'not_found', message: `No route for ${base.method} ${base.path}`, details: [] },
      });
    }
    if (match.kind === 'method-not-declared') {
      return gatewayError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    // Parsed once: the SigV4 check and the handler's event see the same parameters.
    const query = parseQuery(base.rawQuery);
    if (match.route.auth.type === 'iam') {
      // The signature covers the path as the client sent it, trailing slash included.
      const verdict = await verifySigV4(
        { ...base, query },
        {
          region: options.region,
          service: 'execute-api',
          findPrincipal: (ak) => options.principals().find((p) => p.access_key_id === ak),
        },
      );
      if (!verdict.ok) return gatewayError(403, verdict.errorType, verdict.message);
      if (match.route.mfa && verdict.principal.mfa !== true) {
        // What the REST API's resource policy answers on AWS (lib/constructs/management-api.ts): an
        // explicit deny for credentials without MFA, before any Lambda runs.
        return gatewayError(
          403,
          'AccessDeniedException',
          `User: ${verdict.principal.arn} is not authorized to perform: execute-api:Invoke on resource: ` +
            `${methodArn(options.region, base.method, match.path)} with an explicit deny`,
        );
      }
      if (!query) return badQuery(); // not reached: SigV4 refuses a malformed query first
      const request = routed(base, match, query);
      return invokeRoute(request, proxyEvent(request, { principal: verdict.principal }));
    }
    if (!query) return badQuery();
    return authorizeAndInvoke(routed(base, match, query));
  }

  async function handle(req: IncomingMessage, requestId: string, port: number): Promise<Reply> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        return gatewayError(
          413,
          'RequestTooLongException',
          `HTTP content length exceeded ${MAX_BODY_BYTES} bytes.`,
        );
      }
      throw error;
    }
    const page = options.console?.({ method, path, host: req.headers.host, port });
    if (page) return page;
    const received = { method, path, rawQuery, rawHeaders: req.rawHeaders, body };
    const target = req.headers['x-amz-target'];
    if (method === 'POST' && path === '/' && typeof target === 'string') {
      const out = await dispatchAwsJson(
        { region: options.region, services: options.awsServices, findCaller: awsCaller, log },
        target,
        received,
      );
      return { status: out.status, headers: out.headers, body: out.body };
    }
    const local = /^\/_local\/([\w-]+)$/.exec(path)?.[1];
    if (local && method === 'GET') {
      const open = own(options.localEndpoints, local);
      if (open) {
        const out = await open();
        return json(out.status, out.body);
      }
      const restricted = own(options.operatorEndpoints ?? {}, local);
      if (restricted) {
        const verdict = await verifySigV4(received, {
          region: options.region,
          service: restricted.service,
          findPrincipal: awsCaller,
        });
        if (!verdict.ok) return gatewayError(403, verdict.errorType, verdict.message);
        if (verdict.principal.access !== 'all') {
          return gatewayError(
            403,
            'AccessDeniedException',
            `User: ${verdict.principal.arn} is not authorized to read ${path}: only the local operator is`,
          );
        }
        const out = await restricted.answer();
        return json(out.status, out.body);
      }
    }
    return handleRoute({
      requestId,
      receivedAt: new Date(),
      method,
      path,
      rawQuery,
      rawHeaders: req.rawHeaders,
      body,
      sourceIp: sourceIp(req, options.trustForwardedFor === true),
      localPort: port,
    });
  }

  const server: Server = createServer((req, res: ServerResponse) => {
    const started = Date.now();
    const requestId = randomUUID();
    const port = (server.address() as AddressInfo).port;
    handle(req, requestId, port)
      .catch((error: unknown): Reply => {
        log(`gateway error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return gatewayError(500, 'InternalFailure', null);
      })
      .then((reply) => {
        res.writeHead(reply.status, { 'x-amzn-requestid': requestId, ...reply.headers });
        res.end(reply.body);
        // Path or operation only: queries and headers may carry tokens or signatures.
        const target = req.headers['x-amz-target'];
        const what = typeof target === 'string' ? target : `${req.method} ${(req.url ?? '/').split('?')[0]}`;
        if (!what.includes('/_local/')) accessLog(`${what} ${reply.status} ${Date.now() - started}ms`);
      });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'EADDRINUSE'
          ? new Error(
              `Port ${options.port} (the local gateway) is already in use. Stop whatever holds it or choose another port (PORT=...).`,
            )
          : error,
      ),
    );
    server.listen(options.port, '127.0.0.1', () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
        if (accessTimer) clearTimeout(accessTimer);
        flushAccessLog();
      }),
  };
}
