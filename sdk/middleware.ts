/**
 * `latchkey/middleware`: a middy middleware that makes a Lambda handler behind any front door
 * (function URL, ALB, API Gateway without the authorizer, ...) require a Latchkey key and a scope
 * or route (docs/protecting-apis.md). It asks `POST /v1/keys/verify`, so the decision, its outcome
 * codes and its audit are the authorizer's; a refusal is answered with the same JSON bodies API
 * Gateway gives (401 `unauthorized`, 403 `forbidden`, never the reason), and anything that stops
 * Latchkey from answering is a 401: fail closed.
 *
 * ```ts
 * export const handler = middy(orders).use(requireKey({ client, api: 'orders', scope: 'orders:read' }));
 * // in orders: context.latchkey.keyId, context.latchkey.scopes, ...
 * ```
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { isTold, type OutcomeCode, outcomeStatus, STORE_UNAVAILABLE } from '../functions/domain/outcomes';
import { TOKEN_HEADERS, type TokenHeader } from '../lib/consumer-contract';
import { DENY_CONTEXT, renderGatewayResponse } from '../lib/gateway-responses';
import type { VerifyRequest, VerifyResult } from './client';

/** What the handler learns about an allowed caller, as `context.latchkey`. */
export interface VerifiedKey {
  readonly keyId: string;
  readonly scopes: readonly string[];
  readonly organizationId: string | null;
  readonly workspaceId: string | null;
  readonly environment: string | null;
}

export type LatchkeyContext = Context & { latchkey: VerifiedKey };

/** Any event with headers: API Gateway (REST, HTTP), function URLs, ALB. */
export interface HttpEvent {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly requestContext?: unknown;
}

export interface RequireKeyOptions<E extends HttpEvent = HttpEvent> {
  /** Who decides: a `LatchkeyClient` (or anything with its `verify`). */
  readonly client: { verify(request: VerifyRequest): Promise<VerifyResult> };
  /** The registered API whose registration decides (its accounts must include this function's). */
  readonly api: string;
  /** The scope the key must hold. Give this or `route`. */
  readonly scope?: string;
  /** The route of the API's route map (`"GET /orders"`), or how to name it from the event. */
  readonly route?: string | ((event: E) => string);
  /**
   * The one header to read the token from.
   * @default - `Authorization: Bearer <key>`, or `X-API-Key` when there is no Authorization header
   */
  readonly tokenHeader?: TokenHeader;
  /**
   * The caller's IP, for keys with an IP allowlist.
   * @default - `requestContext.identity.sourceIp` (API Gateway REST) or `requestContext.http.sourceIp`
   *   (HTTP APIs, function URLs); behind an ALB give your own (e.g. from X-Forwarded-For)
   */
  readonly sourceIp?: (event: E) => string | undefined;
  /** Called on every refusal with its outcome code (to log or count it); never with the token. */
  readonly onRefusal?: (code: OutcomeCode, event: E) => void;
}

/** What a refused request is answered with: the status of its code and the gateway's body. */
export interface Refusal {
  readonly statusCode: 401 | 403;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The answer API Gateway's gateway responses give for the same refusal (`lib/gateway-responses.ts`):
 * the reason and `Retry-After` only where waiting helps, nothing about any other refusal.
 */
function refusal(code: OutcomeCode, retryAfter: number | null = null): Refusal {
  const statusCode = outcomeStatus(code) === 403 ? 403 : 401;
  const told = isTold(code);
  const rendered = renderGatewayResponse(statusCode === 401 ? 'UNAUTHORIZED' : 'ACCESS_DENIED', {
    [DENY_CONTEXT.reason]: told ? code : '',
    [DENY_CONTEXT.retryAfter]: told && retryAfter !== null ? String(retryAfter) : '',
  });
  return {
    statusCode,
    headers: { ...rendered?.headers, 'cache-control': 'no-store' },
    body: rendered?.body ?? '',
  };
}

function header(event: HttpEvent, name: string): string | undefined {
  for (const [k, v] of Object.entries(event.headers ?? {})) if (k.toLowerCase() === name && v) return v;
  return undefined;
}

/** The token, read as the authorizer reads it (docs/authorizer.md, Presenting a key). */
function tokenOf(event: HttpEvent, only: TokenHeader | undefined): string | undefined {
  const auth = only === 'x-api-key' ? undefined : header(event, 'authorization');
  if (auth !== undefined) return /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1];
  if (only === 'authorization') return undefined;
  return header(event, 'x-api-key')?.trim() || undefined;
}

function defaultSourceIp(event: HttpEvent): string | undefined {
  const ctx = (event.requestContext ?? {}) as {
    identity?: { sourceIp?: string };
    http?: { sourceIp?: string };
  };
  return ctx.identity?.sourceIp ?? ctx.http?.sourceIp;
}

export function requireKey<E extends HttpEvent = HttpEvent, R = unknown>(
  options: RequireKeyOptions<E>,
): MiddlewareObj<E, R | Refusal, Error, Context> {
  if ((options.scope === undefined) === (options.route === undefined)) {
    throw new Error('requireKey needs scope or route, exactly one');
  }
  if (options.tokenHeader !== undefined && !TOKEN_HEADERS.includes(options.tokenHeader)) {
    throw new Error(`tokenHeader must be one of ${TOKEN_HEADERS.join(', ')}`);
  }
  const refuse = (code: OutcomeCode, event: E, retryAfter: number | null = null): Refusal => {
    options.onRefusal?.(code, event);
    return refusal(code, retryAfter);
  };
  return {
    before: async (request) => {
      const event = request.event;
      const key = tokenOf(event, options.tokenHeader);
      // No token, no call: Latchkey would answer missing_token without a read anyway.
      if (!key) return refuse('missing_token', event);
      const route = typeof options.route === 'function' ? options.route(event) : options.route;
      let result: VerifyResult;
      try {
        result = await options.client.verify({
          key,
          api: options.api,
          ...(route !== undefined ? { route } : { scope: options.scope as string }),
          sourceIp: (options.sourceIp ?? defaultSourceIp)(event),
        });
      } catch {
        // Latchkey unreachable, too slow, or refusing this function's call: nothing is allowed.
        return refuse(STORE_UNAVAILABLE, event);
      }
      if (!result.valid || !result.key_id) return refuse(result.code, event, result.retry_after ?? null);
      const verified: VerifiedKey = {
        keyId: result.key_id,
        scopes: result.scopes ?? [],
        organizationId: result.organization_id,
        workspaceId: result.workspace_id,
        environment: result.environment,
      };
      Object.assign(request.context, { latchkey: verified });
      return undefined;
    },
  };
}
