/** The demo protected API: echoes what the Latchkey authorizer established about the caller. */
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { json } from '../shared/json';
import { traced } from '../shared/tracer';

export const handler = traced(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
  const ctx = (event.requestContext?.authorizer ?? {}) as Record<string, string | undefined>;
  return json(200, {
    route: `${event.httpMethod} ${event.resource}`,
    key_id: ctx.keyId ?? null,
    scopes: ctx.scopes ? ctx.scopes.split(',') : [],
    environment: ctx.environment ?? null,
    organization_id: ctx.organizationId ?? null,
    workspace_id: ctx.workspaceId || null,
    key_type: ctx.keyType ?? null,
    ...(event.pathParameters?.id ? { agent_id: event.pathParameters.id } : {}),
  });
});
