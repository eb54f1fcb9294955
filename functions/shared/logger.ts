/** Structured JSON logs (Powertools). Log ids and prefixes, never tokens, secrets or hashes. */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'latchkey' });
