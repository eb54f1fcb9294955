/**
 * X-Ray tracing (Powertools Tracer): the functions run with active tracing (`lib/constructs/latchkey-function.ts`),
 * every module-scope SDK client is wrapped with `tracer.captureAWSv3Client` (one subsegment per AWS
 * call) and every handler with `traced` or the middy `captureLambdaHandler`. Except the authorizer,
 * which never loads this module: X-Ray still records its invocations (active tracing is on the
 * function), but not a subsegment per DynamoDB call, and its bundle stays free of the X-Ray SDK
 * (docs/operations.md, Traces).
 *
 * Only inside Lambda. Powertools itself turns tracing off when `AWS_EXECUTION_ENV` is unset, but
 * that variable is also set on ECS and CodeBuild, where a test run or the local stack would then
 * look for an X-Ray context and warn; `AWS_LAMBDA_FUNCTION_NAME` is set by Lambda alone. Disabled,
 * the tracer is a no-op: clients are returned untouched and `traced` returns the handler itself.
 * `POWERTOOLS_TRACE_ENABLED=false` still turns it off in Lambda.
 *
 * Never a response as trace metadata: a create or rotate answer carries the new token.
 */
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { instrumentClients } from './client-registry';
import { logger } from './logger';

export const tracer = new Tracer({
  // Every outbound call is an AWS SDK call, traced through its client; patching http too would trace each twice.
  captureHTTPsRequests: false,
  ...(process.env.AWS_LAMBDA_FUNCTION_NAME ? {} : { enabled: false }),
});

// The shared DynamoDB client is instrumented here rather than where it is made, so a function that
// never loads the tracer (the authorizer) carries no X-Ray SDK (`client-registry.ts`).
instrumentClients((client) => tracer.captureAWSv3Client(client));

/** Options for the middy `captureLambdaHandler` middleware. */
export const CAPTURE_HANDLER_OPTIONS = { captureResponse: false } as const;

/**
 * A plain async handler with its invocation traced as a `## <handler>` subsegment (cold start and
 * service annotated, a thrown error recorded), as the middy middleware does for middy handlers.
 */
export function traced<E, R>(
  handler: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  if (!tracer.isTracingEnabled()) return handler;
  return async (event, context) => {
    const parent = tracer.getSegment();
    const segment = parent?.addNewSubsegment(`## ${process.env._HANDLER ?? 'handler'}`);
    if (segment) tracer.setSegment(segment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(event, context);
    } catch (error) {
      tracer.addErrorAsMetadata(error as Error);
      throw error;
    } finally {
      if (segment && parent) {
        try {
          segment.close();
        } catch (error) {
          logger.warn('Could not close the handler subsegment', { error_name: (error as Error).name });
        }
        tracer.setSegment(parent);
      }
    }
  };
}
