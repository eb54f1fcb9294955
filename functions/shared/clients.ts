/**
 * The DynamoDB client every repository shares, created once per execution environment. Other
 * services' clients live in the one repository that calls them, so a function's bundle carries
 * only the SDK clients it uses. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>`
 * variables, which is all the local stack changes.
 *
 * No tracing here: `tracer.ts` instruments `dynamodbClient` (and so `dynamodb`, which shares its
 * middleware stack) through `client-registry.ts` in every function that loads the tracer. The
 * authorizer does not, so its bundle carries no X-Ray SDK (docs/operations.md, Traces).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { registerClient } from './client-registry';

export const dynamodbClient = registerClient(new DynamoDBClient({}));

export const dynamodb = DynamoDBDocumentClient.from(dynamodbClient, {
  marshallOptions: { removeUndefinedValues: true },
});
