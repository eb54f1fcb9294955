/** Who the console acts as: how it gets credentials to sign management calls with (docs/console.md). */
import type { AwsCredentials } from '../../../sdk/management';

export interface ConsoleSession {
  /** Shown in the header: the local principal's name, or the signed-in user. */
  readonly label: string;
  /** Credentials to sign the next call with (refreshed by the session when they near expiry). */
  credentials(): Promise<AwsCredentials>;
  /** Forgets the session (and, for Cognito, signs out of the hosted UI). */
  signOut(): void;
}
