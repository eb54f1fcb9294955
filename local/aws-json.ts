/**
 * The AWS JSON 1.1 protocol as the SDK speaks it: `POST /` with `X-Amz-Target: <Prefix>.<Operation>`,
 * errors as `{ "__type": "...", "message": "..." }` (plus `x-amzn-ErrorType`) so SDK clients throw
 * the same named exceptions as against AWS.
 */

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

export async function dispatchAwsJson(
  services: readonly AwsService[],
  target: string,
  body: string,
): Promise<AwsJsonResponse> {
  const dot = target.lastIndexOf('.');
  const service = services.find((s) => s.targetPrefix === target.slice(0, dot));
  const operation = service?.operations[target.slice(dot + 1)];
  if (!operation)
    return errorReply(new AwsServiceError('UnknownOperationException', `Unknown operation ${target}`));
  let input: unknown;
  try {
    input = body ? JSON.parse(body) : {};
  } catch {
    return errorReply(new AwsServiceError('SerializationException', 'Request body is not valid JSON'));
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return errorReply(new AwsServiceError('SerializationException', 'Request body must be a JSON object'));
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
