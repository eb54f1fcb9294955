/**
 * Cognito sign-in for the console on AWS (docs/console.md). Placeholder until the hosting work
 * lands: it refuses rather than pretending to sign anyone in.
 */
import type { CognitoConfig } from '../config';
import type { ConsoleSession } from './session';

/** The signed-in session, or null after redirecting the browser to sign in. */
export async function cognitoSession(_config: CognitoConfig): Promise<ConsoleSession | null> {
  throw new Error('Cognito sign-in is not built yet');
}
