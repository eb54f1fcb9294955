/**
 * Domain errors. Handlers map them to HTTP status by type (see `functions/shared/http.ts`), never by
 * message text. Messages are written for the caller and never contain a secret.
 */
export interface ErrorDetail {
  readonly field: string;
  readonly message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The request is malformed or names something that does not exist in the catalog. */
export class ValidationError extends DomainError {
  readonly code = 'validation_error';
}

export class MalformedJsonError extends DomainError {
  readonly code = 'malformed_json';
}

export class PayloadTooLargeError extends DomainError {
  readonly code = 'payload_too_large';
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly code = 'unsupported_media_type';
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
}

/** The request conflicts with the key's state (e.g. enabling a revoked key, a concurrent change). */
export class ConflictError extends DomainError {
  readonly code: string = 'conflict';
}

/**
 * A rotation while the previous secret's grace period is still open: it would cut that grace short
 * (docs/key-changes.md). The caller waits, or asks for the cut explicitly.
 */
export class GracePeriodOpenError extends ConflictError {
  override readonly code: string = 'grace_period_open';
}

/** The caller may not do this: unbound, or its role does not allow it (docs/tenancy.md). */
export class ForbiddenError extends DomainError {
  readonly code: string = 'forbidden';
}

/** A `deny` policy rule matched; the message and details name the rule (docs/tenancy.md#policy-rules). */
export class PolicyDeniedError extends ForbiddenError {
  override readonly code: string = 'policy_denied';
}

/** System keys and `system:*` scopes need an open root-mode elevation (docs/tenancy.md#root-mode). */
export class RootModeRequiredError extends ForbiddenError {
  override readonly code: string = 'root_mode_required';
}

/** A feature switched off by configuration (`apiKeys.enabled`). */
export class ServiceDisabledError extends DomainError {
  readonly code = 'service_disabled';
}
