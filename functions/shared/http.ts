/**
 * The thin-handler kit for management routes: middy parses and validates (zod), the handler calls
 * the domain, and domain errors become HTTP statuses by their type. Refusals happen before any
 * handler code runs, so nothing is written for a refused request.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { type ZodType, z } from 'zod';
import type { Actor } from '../domain/api-key';
import {
  ConflictError,
  DomainError,
  type ErrorDetail,
  ForbiddenError,
  MalformedJsonError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceDisabledError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../domain/errors';
import { federatedUserOf } from '../domain/federated-user';
import { setting } from './config';
import { headerOf } from './headers';
import { json } from './json';
import { logger } from './logger';
import { CAPTURE_HANDLER_OPTIONS, tracer } from './tracer';

export const MAX_BODY_BYTES = 16 * 1024;

const STATUS_BY_ERROR = new Map<abstract new (...args: never[]) => DomainError, number>([
  [ValidationError, 400],
  [MalformedJsonError, 400],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [ConflictError, 409],
  [PayloadTooLargeError, 413],
  [UnsupportedMediaTypeError, 415],
  [ServiceDisabledError, 503],
]);

function statusOf(error: DomainError): number {
  for (const [type, status] of STATUS_BY_ERROR) if (error instanceof type) return status;
  return 500;
}

export { json };

function errorResponse(error: DomainError): APIGatewayProxyResult {
  return json(statusOf(error), {
    error: { code: error.code, message: error.message, details: error.details },
  });
}

/** zod issues → `{ field, message }` details naming each bad field. */
function zodDetails(error: z.ZodError, prefix?: string): ErrorDetail[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = [prefix, path].filter(Boolean).join('.') || (prefix ?? 'body');
    return { field, message: issue.message };
  });
}

function parse<T>(schema: ZodType<T>, value: unknown, where: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const details = zodDetails(result.error, where === 'body' ? undefined : where);
    throw new ValidationError(
      `Invalid ${where}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`,
      details,
    );
  }
  return result.data;
}

function readJsonBody(event: APIGatewayProxyEvent): unknown {
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > MAX_BODY_BYTES) {
    throw new PayloadTooLargeError(`Request body is ${bytes.length} bytes; the limit is ${MAX_BODY_BYTES}.`);
  }
  if (bytes.length === 0) return undefined;
  const contentType = headerOf(event.headers, 'content-type') ?? '';
  if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(contentType)) {
    throw new UnsupportedMediaTypeError(
      `Content-Type must be application/json (got ${contentType ? JSON.stringify(contentType) : 'none'}).`,
    );
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new MalformedJsonError(`Request body is not valid JSON: ${(error as Error).message}`, [
      { field: 'body', message: 'not valid JSON' },
    ]);
  }
}

/**
 * The IAM principal behind the SigV4 signature, where the request came from, and for identity-pool
 * credentials the user pool user (for the audit only; bindings match the principal).
 */
function actorOf(event: APIGatewayProxyEvent): Actor {
  const identity = event.requestContext?.identity;
  const federated = federatedUserOf(identity);
  return {
    principal: identity?.userArn ?? identity?.caller ?? 'unknown',
    ...(identity?.sourceIp ? { source_ip: identity.sourceIp } : {}),
    ...(identity?.userAgent ? { user_agent: identity.userAgent.slice(0, 512) } : {}),
    ...(event.requestContext?.requestId ? { request_id: event.requestContext.requestId } : {}),
    ...(federated ? { federated_user: federated } : {}),
  };
}

export interface RouteInput<B, Q, P> {
  readonly body: B;
  readonly query: Q;
  readonly params: P;
  readonly actor: Actor;
  readonly event: APIGatewayProxyEvent;
}

export interface RouteSchemas<B, Q, P> {
  /** Omit for routes without a body: any body is then refused. */
  readonly body?: ZodType<B>;
  readonly query?: ZodType<Q>;
  readonly params?: ZodType<P>;
  /**
   * Key validation (`POST /v1/keys/verify`) keeps answering while the `apiKeys.enabled` flag is off,
   * as existing keys keep working at the authorizer. @default false
   */
  readonly validatesKeys?: boolean;
}

export interface RouteOptions {
  /**
   * Runs right after the feature flag, before the input is parsed: the management routes refuse an
   * unbound principal here, whatever it sent (`functions/handlers/management/kit.ts`).
   */
  readonly gate?: (actor: Actor, route: string) => Promise<void>;
}

/** Response headers the console reads cross-origin: the export's next page, a refusal's wait. */
const EXPOSED_HEADERS = 'x-next-token,retry-after';

/**
 * `response` with the CORS headers that let the hosted console (served from another origin, see
 * docs/console-on-aws.md) read it; unchanged when `origin` is null. The preflight is API Gateway's
 * (`lib/constructs/management-api.ts`); these go on the actual answers, refusals included.
 */
export function withConsoleCors(
  response: APIGatewayProxyResult,
  origin: string | null,
): APIGatewayProxyResult {
  if (!origin) return response;
  return {
    ...response,
    headers: {
      ...response.headers,
      'access-control-allow-origin': origin,
      'access-control-expose-headers': EXPOSED_HEADERS,
      vary: 'Origin',
    },
  };
}

const noQuery = z.object({}).strict();
const emptyBody = z.undefined({ error: 'this route takes no request body' });

/**
 * Builds a management route handler. Order: feature flag, gate, body (size, type, JSON), path,
 * query, body schema; then `fn`. A thrown DomainError becomes its HTTP status; anything else is a
 * 500 with no detail (and is logged by name only).
 */
export function route<B = undefined, Q = Record<string, never>, P = Record<string, never>>(
  schemas: RouteSchemas<B, Q, P>,
  fn: (input: RouteInput<B, Q, P>) => Promise<APIGatewayProxyResult>,
  options: RouteOptions = {},
) {
  // First in, so its `after` and `onError` run last: every answer, the error ones included, gets it.
  const cors = (request: { response: APIGatewayProxyResult | undefined }) => {
    if (request.response) request.response = withConsoleCors(request.response, setting('consoleOrigin'));
  };
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context>()
    .use({ after: cors, onError: cors })
    .use(captureLambdaHandler(tracer, CAPTURE_HANDLER_OPTIONS))
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use({
      onError: async (request) => {
        const error = request.error;
        if (error instanceof DomainError) {
          request.response = errorResponse(error);
          return;
        }
        logger.error('Unhandled error', { error_name: error?.name, error_message: error?.message });
        request.response = json(500, {
          error: { code: 'internal_error', message: 'Internal error', details: [] },
        });
      },
    })
    .handler(async (event) => {
      if (!schemas.validatesKeys && !setting('apiKeysEnabled')) {
        throw new ServiceDisabledError('API key management is disabled (apiKeys.enabled = false).');
      }
      const actor = actorOf(event);
      if (options.gate) await options.gate(actor, `${event.httpMethod} ${event.resource}`);
      const rawBody = readJsonBody(event);
      const params = parse(
        (schemas.params ?? z.object({})) as ZodType<P>,
        event.pathParameters ?? {},
        'path',
      );
      const query = parse(
        (schemas.query ?? noQuery) as ZodType<Q>,
        event.queryStringParameters ?? {},
        'query',
      );
      const body = parse((schemas.body ?? emptyBody) as ZodType<B>, rawBody, 'body');
      return fn({ body, query, params, actor, event });
    });
}
