/**
 * The CLI's own failures, apart from the API's answers (`ManagementApiError`): a `UsageError` is a
 * call the CLI cannot make as given (exit 2), a `CliFailure` one that was tried and failed (exit 1).
 * Exit codes: docs/cli.md#exit-codes.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
