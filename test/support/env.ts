/**
 * Every test file's environment (each file gets its own copy of `process.env`): a region and
 * local-only credentials, so no test can reach a real AWS account, and quiet handler logs.
 */
process.env.AWS_REGION = 'us-east-1';
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
// Lambda runs Node.js 22; the SDK's notice about Node 20 on a laptop is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// EMF lines are stdout too; the files that check metrics set 'false' before loading a handler.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
