/**
 * Cognito sign-in for the console on AWS (docs/console-on-aws.md), with no SDK: the hosted UI's
 * authorization code flow with PKCE (S256) by redirect, the code exchanged at `/oauth2/token`, and
 * the ID token traded at the identity pool (`GetId`, `GetCredentialsForIdentity`, JSON 1.1 over
 * fetch) for the temporary credentials of the user's group role, which sign every management call.
 *
 * What is kept where: the tokens (ID, refresh) in `sessionStorage`, so a reload in the same tab
 * stays signed in and closing the tab forgets them (never `localStorage`); the AWS credentials in
 * memory only. Sign-out revokes the refresh token and ends the hosted UI's session.
 *
 * Written against small interfaces (`CognitoEnvironment`) rather than DOM globals, so the pure
 * parts and the whole flow run under test with a fake fetch (test/unit/console-cognito.test.ts).
 */
import type { AwsCredentials } from '../../../sdk/management';
import type { CognitoConfig } from '../config';
import type { ConsoleSession } from './session';

/** What the flow needs from the browser; `browserEnvironment()` gives the real ones. */
export interface CognitoEnvironment {
  readonly fetch: typeof fetch;
  readonly storage: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
    removeItem(key: string): void;
  };
  /** The page's current URL. */
  readonly href: () => string;
  /** Replaces the current history entry's URL (drops `?code=…&state=…` after sign-in). */
  readonly replaceUrl: (url: string) => void;
  /** Leaves the page for `url` (the hosted UI). */
  readonly navigate: (url: string) => void;
  readonly now: () => number;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly sha256: (data: Uint8Array) => Promise<Uint8Array>;
}

interface BrowserGlobals {
  sessionStorage: CognitoEnvironment['storage'];
  location: { href: string; assign(url: string): void };
  history: { replaceState(data: unknown, unused: string, url: string): void };
}

export function browserEnvironment(): CognitoEnvironment {
  const g = globalThis as unknown as BrowserGlobals;
  return {
    fetch: (...args) => globalThis.fetch(...args),
    storage: g.sessionStorage,
    href: () => g.location.href,
    replaceUrl: (url) => g.history.replaceState(null, '', url),
    navigate: (url) => g.location.assign(url),
    now: () => Date.now(),
    randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    sha256: async (data) =>
      new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', Uint8Array.from(data))),
  };
}

/** sessionStorage keys. */
const PENDING = 'latchkey.cognito.pending';
const TOKENS = 'latchkey.cognito.tokens';

/** Credentials and ID tokens are renewed this long before they expire. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

export function base64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** RFC 7636: a 43-character verifier (32 random bytes) and its S256 challenge. */
export async function createPkce(
  env: Pick<CognitoEnvironment, 'randomBytes' | 'sha256'>,
): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64Url(env.randomBytes(32));
  const challenge = base64Url(await env.sha256(new TextEncoder().encode(verifier)));
  return { verifier, challenge };
}

/** Where the hosted UI sends the browser back: the console's root, as the app client's callback URL says. */
export function redirectUri(href: string): string {
  return new URL('/', href).href;
}

export function authorizeUrl(
  config: CognitoConfig,
  redirect: string,
  state: string,
  challenge: string,
): string {
  const url = new URL('/oauth2/authorize', config.userPoolDomain);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: config.userPoolClientId,
    redirect_uri: redirect,
    scope: 'openid email profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.href;
}

export function logoutUrl(config: CognitoConfig, redirect: string): string {
  const url = new URL('/logout', config.userPoolDomain);
  url.search = new URLSearchParams({ client_id: config.userPoolClientId, logout_uri: redirect }).toString();
  return url.href;
}

export interface Tokens {
  readonly idToken: string;
  readonly refreshToken: string | null;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export class CognitoError extends Error {
  override readonly name = 'CognitoError';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** `/oauth2/token`'s answer; a refresh answers without a refresh token, so the old one is kept. */
export function parseTokenResponse(
  body: unknown,
  now: number,
  previousRefresh: string | null = null,
): Tokens {
  if (!isRecord(body) || typeof body.id_token !== 'string' || typeof body.expires_in !== 'number') {
    const error = isRecord(body) && typeof body.error === 'string' ? body.error : 'unexpected answer';
    throw new CognitoError(`Sign-in failed at the token endpoint: ${error}`);
  }
  return {
    idToken: body.id_token,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : previousRefresh,
    expiresAt: now + body.expires_in * 1000,
  };
}

/** `GetCredentialsForIdentity`'s answer (`Expiration` in epoch seconds). */
export function parseCredentialsResponse(body: unknown): AwsCredentials & { readonly expiresAt: number } {
  const c = isRecord(body) && isRecord(body.Credentials) ? body.Credentials : undefined;
  if (
    !c ||
    typeof c.AccessKeyId !== 'string' ||
    typeof c.SecretKey !== 'string' ||
    typeof c.SessionToken !== 'string' ||
    typeof c.Expiration !== 'number'
  ) {
    throw new CognitoError('The identity pool answered without credentials');
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretKey,
    sessionToken: c.SessionToken,
    expiresAt: c.Expiration * 1000,
  };
}

/** The ID token's claims, read for display only (the identity pool verifies the token). */
export function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (!payload) return {};
  try {
    const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(text, (ch) => ch.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return isRecord(claims) ? claims : {};
  } catch {
    return {};
  }
}

function readJson<T>(env: CognitoEnvironment, key: string, valid: (v: unknown) => v is T): T | null {
  const raw = env.storage.getItem(key);
  if (!raw) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return valid(value) ? value : null;
  } catch {
    return null;
  }
}

const isPending = (v: unknown): v is { state: string; verifier: string } =>
  isRecord(v) && typeof v.state === 'string' && typeof v.verifier === 'string';
const isTokens = (v: unknown): v is Tokens =>
  isRecord(v) && typeof v.idToken === 'string' && typeof v.expiresAt === 'number';

/**
 * The signed-in session, or null after sending the browser to the hosted UI to sign in (the page
 * is leaving). On the way back (`?code=…&state=…`) the code is exchanged and the URL cleaned.
 */
export async function cognitoSession(
  config: CognitoConfig,
  env: CognitoEnvironment = browserEnvironment(),
): Promise<ConsoleSession | null> {
  const here = new URL(env.href());
  const redirect = redirectUri(here.href);
  const code = here.searchParams.get('code');
  const returnedState = here.searchParams.get('state');
  const hostedUiError = here.searchParams.get('error');
  let tokens: Tokens | null = readJson(env, TOKENS, isTokens);

  if (hostedUiError || code) {
    const pending = readJson(env, PENDING, isPending);
    env.storage.removeItem(PENDING);
    env.replaceUrl(redirect);
    if (hostedUiError) {
      throw new CognitoError(
        `Sign-in was refused: ${here.searchParams.get('error_description') ?? hostedUiError}`,
      );
    }
    // A code this tab did not ask for (or asked for twice) is never exchanged.
    if (!pending || pending.state !== returnedState) {
      throw new CognitoError('Sign-in answer does not match this tab’s request; sign in again');
    }
    tokens = await tokenRequest(config, env, {
      grant_type: 'authorization_code',
      client_id: config.userPoolClientId,
      code: code as string,
      redirect_uri: redirect,
      code_verifier: pending.verifier,
    });
    env.storage.setItem(TOKENS, JSON.stringify(tokens));
  }

  if (!tokens) {
    const { verifier, challenge } = await createPkce(env);
    const state = base64Url(env.randomBytes(16));
    env.storage.setItem(PENDING, JSON.stringify({ state, verifier }));
    env.navigate(authorizeUrl(config, redirect, state, challenge));
    return null;
  }
  return new CognitoConsoleSession(config, env, tokens, redirect);
}

async function tokenRequest(
  config: CognitoConfig,
  env: CognitoEnvironment,
  form: Record<string, string>,
  previousRefresh: string | null = null,
): Promise<Tokens> {
  const response = await env.fetch(new URL('/oauth2/token', config.userPoolDomain).href, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body: unknown = await response.json().catch(() => undefined);
  return parseTokenResponse(body, env.now(), previousRefresh);
}

/** One JSON 1.1 call to the identity pool's regional endpoint (unsigned: these two operations take the ID token). */
async function identityCall(
  config: CognitoConfig,
  env: CognitoEnvironment,
  operation: 'GetId' | 'GetCredentialsForIdentity',
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await env.fetch(`https://cognito-identity.${config.region}.amazonaws.com/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityService.${operation}`,
    },
    body: JSON.stringify(body),
  });
  const answer: unknown = await response.json().catch(() => undefined);
  if (!response.ok || !isRecord(answer)) {
    const type = isRecord(answer) && typeof answer.__type === 'string' ? answer.__type.split('#').pop() : '';
    const message = isRecord(answer) && typeof answer.message === 'string' ? answer.message : '';
    throw new CognitoError(
      `The identity pool refused ${operation} (${response.status}${type ? ` ${type}` : ''})${message ? `: ${message}` : ''}`,
    );
  }
  return answer;
}

class CognitoConsoleSession implements ConsoleSession {
  readonly label: string;
  private cached: (AwsCredentials & { readonly expiresAt: number }) | null = null;
  private identityId: string | null = null;
  private pending: Promise<AwsCredentials> | null = null;

  constructor(
    private readonly config: CognitoConfig,
    private readonly env: CognitoEnvironment,
    private tokens: Tokens,
    private readonly redirect: string,
  ) {
    const claims = jwtClaims(tokens.idToken);
    this.label = typeof claims.email === 'string' ? claims.email : 'Signed in';
  }

  credentials(): Promise<AwsCredentials> {
    if (this.cached && this.cached.expiresAt - RENEW_BEFORE_MS > this.env.now()) {
      return Promise.resolve(this.cached);
    }
    // Concurrent calls share one renewal.
    this.pending ??= this.renew().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  private async renew(): Promise<AwsCredentials> {
    if (this.tokens.expiresAt - RENEW_BEFORE_MS <= this.env.now()) {
      if (!this.tokens.refreshToken) throw new CognitoError('The session has expired; sign in again');
      this.tokens = await tokenRequest(
        this.config,
        this.env,
        {
          grant_type: 'refresh_token',
          client_id: this.config.userPoolClientId,
          refresh_token: this.tokens.refreshToken,
        },
        this.tokens.refreshToken,
      );
      this.env.storage.setItem(TOKENS, JSON.stringify(this.tokens));
    }
    const logins = {
      [`cognito-idp.${this.config.region}.amazonaws.com/${this.config.userPoolId}`]: this.tokens.idToken,
    };
    if (!this.identityId) {
      const answer = await identityCall(this.config, this.env, 'GetId', {
        IdentityPoolId: this.config.identityPoolId,
        Logins: logins,
      });
      if (typeof answer.IdentityId !== 'string')
        throw new CognitoError('The identity pool answered without an identity');
      this.identityId = answer.IdentityId;
    }
    const answer = await identityCall(this.config, this.env, 'GetCredentialsForIdentity', {
      IdentityId: this.identityId,
      Logins: logins,
    });
    this.cached = parseCredentialsResponse(answer);
    return this.cached;
  }

  signOut(): void {
    const refreshToken = this.tokens.refreshToken;
    this.env.storage.removeItem(TOKENS);
    this.env.storage.removeItem(PENDING);
    this.cached = null;
    if (refreshToken) {
      // Best effort: the hosted UI's logout below ends the session even if this fails.
      void this.env
        .fetch(new URL('/oauth2/revoke', this.config.userPoolDomain).href, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            token: refreshToken,
            client_id: this.config.userPoolClientId,
          }).toString(),
          keepalive: true,
        })
        .catch(() => undefined);
    }
    this.env.navigate(logoutUrl(this.config, this.redirect));
  }
}
