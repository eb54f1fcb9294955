/**
 * The management routes' handler kit: `route()` (functions/shared/http.ts) with the access gate,
 * so an unbound principal is refused (403, audited) before its input is even parsed; the route's
 * own `authorize` call (functions/services/access-control.ts) then decides the rest
 * (docs/tenancy.md#adopting-the-check).
 */
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { requireBound } from '../../services/access-control';
import { json, type RouteInput, type RouteSchemas, route } from '../../shared/http';

export function managementRoute<B = undefined, Q = Record<string, never>, P = Record<string, never>>(
  schemas: RouteSchemas<B, Q, P>,
  fn: (input: RouteInput<B, Q, P>) => Promise<APIGatewayProxyResult>,
) {
  return route(schemas, fn, { gate: (actor, name) => requireBound(actor, undefined, name) });
}

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/** One function serving several routes: the handler of `"<METHOD> <resource path>"`. */
export function dispatch(handlers: Readonly<Record<string, Handler>>): Handler {
  return async (event, context) => {
    const key = `${event.httpMethod} ${event.resource}`;
    const handler = Object.hasOwn(handlers, key) ? handlers[key] : undefined;
    if (!handler) {
      // API Gateway only sends the routes this function is declared for; anything else is a wiring bug.
      return json(500, { error: { code: 'internal_error', message: 'Internal error', details: [] } });
    }
    return handler(event, context);
  };
}
