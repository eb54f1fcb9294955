/**
 * The authorizer's structured JSON logger: the line shape of Powertools Logger (`level`, `message`,
 * `timestamp`, `service`, the Lambda context keys, then the extra keys) without its 35 KB, so the
 * authorizer's bundle stays within 10% of the DynamoDB client's (docs/operations.md). The other
 * functions use Powertools (`logger.ts`). Log ids and prefixes, never tokens, secrets or hashes.
 *
 * Level: the stricter of `AWS_LAMBDA_LOG_LEVEL` and `POWERTOOLS_LOG_LEVEL` (or `LOG_LEVEL`), default
 * INFO; `SILENT` prints nothing. Read on first use.
 */
import type { Context } from 'aws-lambda';

const LEVELS: Readonly<Record<string, number>> = {
  TRACE: 6,
  DEBUG: 8,
  INFO: 12,
  WARN: 16,
  ERROR: 20,
  CRITICAL: 24,
  SILENT: 28,
};
const SERVICE = 'latchkey';

let threshold: number | undefined;

/** Read once, on first use, as Powertools reads its level when the logger is made. */
function currentThreshold(): number {
  if (threshold === undefined) {
    const configured = (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'INFO').toUpperCase();
    const lambda = (process.env.AWS_LAMBDA_LOG_LEVEL ?? '').toUpperCase();
    threshold = Math.max(LEVELS[configured] ?? (LEVELS.INFO as number), LEVELS[lambda] ?? 0);
  }
  return threshold;
}

let contextKeys: Record<string, unknown> = {};
let coldStart = true;

type Extra = Readonly<Record<string, unknown>>;

function write(level: string, message: string, extra: Extra | undefined): void {
  if ((LEVELS[level] as number) < currentThreshold()) return;
  try {
    const line = JSON.stringify({
      level,
      message,
      timestamp: new Date().toISOString(),
      service: SERVICE,
      ...contextKeys,
      ...extra,
    });
    (LEVELS[level] as number) >= (LEVELS.WARN as number)
      ? process.stderr.write(`${line}\n`)
      : process.stdout.write(`${line}\n`);
  } catch {
    // A log line must never fail a request.
  }
}

export const logger = {
  debug: (message: string, extra?: Extra) => write('DEBUG', message, extra),
  info: (message: string, extra?: Extra) => write('INFO', message, extra),
  warn: (message: string, extra?: Extra) => write('WARN', message, extra),
  error: (message: string, extra?: Extra) => write('ERROR', message, extra),
  /** The invocation's Lambda context on every line that follows, as Powertools' `addContext`. */
  addContext(context: Context): void {
    contextKeys = {
      cold_start: coldStart,
      function_arn: context.invokedFunctionArn,
      function_memory_size: Number(context.memoryLimitInMB),
      function_name: context.functionName,
      function_request_id: context.awsRequestId,
      sampling_rate: 0,
    };
    coldStart = false;
  },
};
