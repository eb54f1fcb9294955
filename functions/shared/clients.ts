/**
 * The DynamoDB client every repository shares, created once per execution environment. Other
 * services' clients live in the one repository that calls them, so a function's bundle carries
 * only the SDK clients it uses. Endpoints come from the SDK's own `AWS_ENDPOINT_URL_<SERVICE>`
 * variables, which is all the local stack changes.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});
