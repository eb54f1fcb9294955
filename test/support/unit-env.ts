/**
 * The unit tier uses no AWS endpoint, DynamoDB Local included (docs/testing.md). In a full run the
 * other tiers' DynamoDB Local is in the inherited environment: drop it, and send any AWS call to a
 * closed local port, so a unit test that reaches for AWS fails at once instead of passing by luck.
 */
for (const name of Object.keys(process.env)) {
  if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
}
process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
