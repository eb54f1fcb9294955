/**
 * What the console reads from `config.json` beside `index.html` (docs/console.md): written by the
 * local gateway for `npm start`, and by the CDK stack into the console bucket on AWS. It names only
 * public identifiers, never a credential.
 */
export interface CommonConfig {
  /** The region management calls are signed for. */
  readonly region: string;
  /** The management API's base URL with its stage (`https://…/prod/`), or `/` on the same origin. */
  readonly apiBaseUrl: string;
}

/** `npm start`: the page lets the developer act as one of `.local/credentials.json`'s principals. */
export interface LocalConfig extends CommonConfig {
  readonly mode: 'local';
  /** Where the local gateway lists the local principals and their keys (loopback only). */
  readonly principalsUrl: string;
}

/** AWS: Cognito user pool sign-in (hosted UI, PKCE), identity pool credentials per group's role. */
export interface CognitoConfig extends CommonConfig {
  readonly mode: 'cognito';
  readonly userPoolId: string;
  readonly userPoolClientId: string;
  /** The hosted UI's base URL, `https://<prefix>.auth.<region>.amazoncognito.com`. */
  readonly userPoolDomain: string;
  readonly identityPoolId: string;
}

export type ConsoleConfig = LocalConfig | CognitoConfig;
