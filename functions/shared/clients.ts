/**
 * The DynamoDB client every repository shares, created once per execution environment. Other
 * services' clients live in the one repository that calls them, so a function's bundle carries
 * only the SDK clients it uses. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>`
 * variables, which is all the local stack changes. Every client is traced (`tracer.ts`; a no-op
 * outside Lambda).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from './tracer';

export const dynamodb = DynamoDBDocumentClient.from(tracer.captureAWSv3Client(new DynamoDBClient({})), {
  marshallOptions: { removeUndefinedValues: true },
});
