/**
 * A JSON answer for a Lambda proxy integration. Apart from `http.ts` so a function that only
 * answers JSON (the demo API) does not bundle zod, middy and the rest of the management kit.
 */
import type { APIGatewayProxyResult } from 'aws-lambda';

export function json(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}
