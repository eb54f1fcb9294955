/**
 * The AWS JSON 1.1 protocol as the SDK speaks it: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`,
 * errors as `{ "__type": "...", "message": "..." }` (plus `x-amzn-ErrorType`) so SDK clients throw
 * the same named exceptions as against AWS.
 *
 * Every request is authenticated and authorized first, as the real services do: a SigV4 signature
 * for the service (`verifySigV4`, the same check as the management routes), by a caller the stack
 * knows (`iam.ts` `awsCallers`), whose access allows the action on the resources the request names
 * (`iam.ts`, the same evaluation as for DynamoDB). Failures are answered with the JSON services'
 * status (400) and error types: `MissingAuthenticationTokenException`, `IncompleteSignatureException`,
 * `InvalidSignatureException` (wrong secret, stale date), `UnrecognizedClientException` (unknown key),
 * `AccessDeniedException`.
 */
import {
  type AwsCaller,
  accessDeniedMessage,
  deniedLine,
  deniedRequest,
  requestsOf,
  type Service,
} from './iam';
import { type ReceivedRequest, verifySigV4 } from './sigv4';

export class AwsServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type AwsInput = Record<string, unknown>;
export type AwsOperation = (input: AwsInput) => unknown;

export interface AwsService {
  /** The `X-Amz-Target` prefix, e.g. `TrentService` for KMS. */
  readonly targetPrefix: string;
  /** The SigV4 signing name, which is also the IAM action prefix: `kms`, `events`, `secretsmanager`. */
  readonly signingName: Exclude<Service, 'dynamodb'>;
  readonly operations: Readonly<Record<string, AwsOperation>>;
}

export interface AwsJsonResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';

function reply(status: number, payload: unknown, errorType?: string): AwsJsonResponse {
  return {
    status,
    headers: { 'content-type': CONTENT_TYPE, ...(errorType ? { 'x-amzn-errortype': errorType } : {}) },
    body: JSON.stringify(payload),
  };
}

function errorReply(error: AwsServiceError): AwsJsonResponse {
  return reply(error.status, { __type: error.type, message: error.message }, error.type);
}

export interface AwsJsonOptions {
  readonly region: string;
  readonly services: readonly AwsService[];
  /** Every caller the endpoints know, by access key id. */
  readonly findCaller: (accessKeyId: string) => AwsCaller | undefined;
  /** One line per denial. */
  readonly log: (line: string) => void;
  readonly now?: () => Date;
}

/** One `POST /` with `X-Amz-Target: target`; `request` exactly as received, for the signature. */
export async function dispatchAwsJson(
  options: AwsJsonOptions,
  target: string,
  request: ReceivedRequest,
): Promise<AwsJsonResponse> {
  const dot = target.lastIndexOf('.');
  const service = options.services.find((s) => s.targetPrefix === target.slice(0, dot));
  const unknown = () =>
    errorReply(new AwsServiceError('UnknownOperationException', `Unknown operation ${target}`));
  // The service decides the credential scope, so it is found before the signature is checked.
  if (!service) return unknown();
  const verdict = await verifySigV4(request, {
    region: options.region,
    service: service.signingName,
    findPrincipal: options.findCaller,
    ...(options.now ? { now: options.now } : {}),
  });
  if (!verdict.ok) return errorReply(new AwsServiceError(verdict.errorType, verdict.message));
  const caller = verdict.principal;
  const operationName = target.slice(dot + 1);
  const operation = Object.hasOwn(service.operations, operationName)
    ? service.operations[operationName]
    : undefined;
  if (!operation) return unknown();
  let input: unknown;
  try {
    input = request.body.length ? JSON.parse(request.body.toString('utf8')) : {};
  } catch {
    return errorReply(new AwsServiceError('SerializationException', 'Request body is not valid JSON'));
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return errorReply(new AwsServiceError('SerializationException', 'Request body must be a JSON object'));
  }
  const requests = requestsOf(service.signingName, operationName, input as AwsInput, options.region);
  const denied = deniedRequest(caller.access, requests, options.region);
  if (denied) {
    options.log(deniedLine(caller.name, caller.access === 'all' ? [] : caller.access, denied));
    return errorReply(new AwsServiceError('AccessDeniedException', accessDeniedMessage(caller.arn, denied)));
  }
  try {
    return reply(200, (await operation(input as AwsInput)) ?? {});
  } catch (error) {
    if (error instanceof AwsServiceError) return errorReply(error);
    return errorReply(new AwsServiceError('InternalFailure', 'Internal failure in the local endpoint', 500));
  }
}

/** Input field helpers: a wrong type is the caller's mistake, answered like AWS answers it. */
export function requiredString(input: AwsInput, field: string): string {
  const value = input[field];
  if (typeof value !== 'string' || value === '') {
    throw new AwsServiceError(
      'ValidationException',
      `1 validation error detected: '${field}' must not be null`,
    );
  }
  return value;
}

export function optionalString(input: AwsInput, field: string): string | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new AwsServiceError('ValidationException', `'${field}' must be a string`);
  return value;
}

export function stringMap(input: AwsInput, field: string): Record<string, string> {
  const value = input[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AwsServiceError('ValidationException', `'${field}' must be a map of strings`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string')
      throw new AwsServiceError('ValidationException', `'${field}' must be a map of strings`);
    out[k] = v;
  }
  return out;
}
