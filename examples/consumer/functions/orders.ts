// examples/consumer/functions/orders.ts
import middy from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { LatchkeyClient } from 'latchkey/client';
import { type LatchkeyContext, requireKey } from 'latchkey/middleware';

// Latchkey's management API (its stack output ApiUrl); calls are signed with this function's role,
// which needs execute-api:Invoke on POST /v1/keys/verify.
const latchkey = new LatchkeyClient({ baseUrl: process.env.LATCHKEY_API_URL ?? '' });

/** Behind a function URL, an ALB or anything else: the key is checked by Latchkey's verify route. */
async function listOrders(_event: APIGatewayProxyEventV2, context: LatchkeyContext) {
  return { statusCode: 200, body: JSON.stringify({ orders: [], caller: context.latchkey.keyId }) };
}

export const handler = middy(listOrders).use(
  requireKey({ client: latchkey, api: 'orders', scope: 'orders:read' }),
);
