/**
 * The console's Cognito sign-in (console/src/auth/cognito.ts, docs/console-on-aws.md) with a fake
 * fetch and browser: PKCE, the hosted UI URLs, the code exchange, the identity pool calls, renewal
 * before expiry, and what is refused (a state this tab did not issue, a hosted UI error).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  authorizeUrl,
  base64Url,
  type CognitoEnvironment,
  cognitoSession,
  createPkce,
  jwtClaims,
  logoutUrl,
  parseCredentialsResponse,
  parseTokenResponse,
} from '../../console/src/auth/cognito';
import type { CognitoConfig } from '../../console/src/config';

const config: CognitoConfig = {
  mode: 'cognito',
  region: 'eu-west-1',
  apiBaseUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/',
  userPoolId: 'eu-west-1_Pool',
  userPoolClientId: 'client123',
  userPoolDomain: 'https://acme-admins.auth.eu-west-1.amazoncognito.com',
  identityPoolId: 'eu-west-1:0000-1111',
};
const CONSOLE = 'https://d111.cloudfront.net/';

const idToken = (claims: Record<string, unknown>) =>
  `h.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.s`;

interface Call {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A browser tab: sessionStorage, the URL, a clock, and a fetch answering from `answer`. */
function fakeTab(answer: (call: Call) => { status?: number; body: unknown }) {
  const storage = new Map<string, string>();
  const calls: Call[] = [];
  const tab = {
    href: CONSOLE,
    navigatedTo: [] as string[],
    now: 1_700_000_000_000,
    storage,
    calls,
  };
  const env: CognitoEnvironment = {
    fetch: (async (input: string, init: RequestInit) => {
      const call = {
        url: String(input),
        headers: init.headers as Record<string, string>,
        body: String(init.body),
      };
      calls.push(call);
      const { status = 200, body } = answer(call);
      return new Response(JSON.stringify(body), { status });
    }) as typeof fetch,
    storage: {
      getItem: (k) => storage.get(k) ?? null,
      setItem: (k, v) => void storage.set(k, v),
      removeItem: (k) => void storage.delete(k),
    },
    href: () => tab.href,
    replaceUrl: (url) => {
      tab.href = url;
    },
    navigate: (url) => {
      tab.navigatedTo.push(url);
    },
    now: () => tab.now,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    sha256: async (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  };
  return { tab, env };
}

/** The hosted UI and the identity pool, answering as Cognito does. */
function cognito(idTokenValue = idToken({ email: 'ada@example.com' })) {
  return (call: Call) => {
    if (call.url.endsWith('/oauth2/token')) {
      return {
        body: {
          id_token: idTokenValue,
          access_token: 'a',
          refresh_token: 'refresh-1',
          expires_in: 3600,
          token_type: 'Bearer',
        },
      };
    }
    if (call.url.endsWith('/oauth2/revoke')) return { body: {} };
    const target = call.headers['x-amz-target'];
    if (target === 'AWSCognitoIdentityService.GetId') return { body: { IdentityId: 'eu-west-1:id-1' } };
    if (target === 'AWSCognitoIdentityService.GetCredentialsForIdentity') {
      return {
        body: {
          IdentityId: 'eu-west-1:id-1',
          Credentials: {
            AccessKeyId: 'ASIA1',
            SecretKey: 'secret',
            SessionToken: 'session',
            Expiration: 1_700_003_600,
          },
        },
      };
    }
    return { status: 400, body: { __type: 'Unknown' } };
  };
}

describe('PKCE and URLs', () => {
  it('makes a 43-character verifier and its S256 challenge (RFC 7636 appendix B)', async () => {
    const rfc = new Uint8Array([
      116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214,
      191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
    ]);
    const pkce = await createPkce({
      randomBytes: () => rfc,
      sha256: async (d) => new Uint8Array(createHash('sha256').update(d).digest()),
    });
    expect(pkce).toEqual({
      verifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
      challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    });
    expect(base64Url(new Uint8Array([251, 255]))).toBe('-_8');
  });

  it('sends the browser to the hosted UI with the code flow, the client, the scopes and the challenge', () => {
    const url = new URL(authorizeUrl(config, CONSOLE, 'st', 'ch'));
    expect(url.origin + url.pathname).toBe(
      'https://acme-admins.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
    );
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'client123',
      redirect_uri: CONSOLE,
      scope: 'openid email profile',
      state: 'st',
      code_challenge: 'ch',
      code_challenge_method: 'S256',
    });
    const logout = new URL(logoutUrl(config, CONSOLE));
    expect(logout.pathname).toBe('/logout');
    expect(Object.fromEntries(logout.searchParams)).toEqual({ client_id: 'client123', logout_uri: CONSOLE });
  });
});

describe('parsing', () => {
  it('reads the token endpoint’s answer, keeping the refresh token a refresh does not return', () => {
    expect(parseTokenResponse({ id_token: 'i', refresh_token: 'r', expires_in: 60 }, 1000)).toEqual({
      idToken: 'i',
      refreshToken: 'r',
      expiresAt: 61_000,
    });
    expect(parseTokenResponse({ id_token: 'j', expires_in: 60 }, 0, 'r')).toMatchObject({
      refreshToken: 'r',
    });
    expect(() => parseTokenResponse({ error: 'invalid_grant' }, 0)).toThrow('invalid_grant');
  });

  it('reads the identity pool’s credentials, and refuses an answer without them', () => {
    expect(
      parseCredentialsResponse({
        Credentials: { AccessKeyId: 'A', SecretKey: 'S', SessionToken: 'T', Expiration: 2 },
      }),
    ).toEqual({ accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T', expiresAt: 2000 });
    expect(() => parseCredentialsResponse({ Credentials: { AccessKeyId: 'A' } })).toThrow(
      'without credentials',
    );
  });

  it('reads the ID token’s claims for display, and nothing from garbage', () => {
    expect(jwtClaims(idToken({ email: 'é@example.com' }))).toEqual({ email: 'é@example.com' });
    expect(jwtClaims('not-a-token')).toEqual({});
    expect(jwtClaims('a.%%%.c')).toEqual({});
  });
});

describe('the sign-in flow', () => {
  it('redirects to sign in, exchanges the code, and signs with the identity pool’s credentials', async () => {
    const { tab, env } = fakeTab(cognito());
    expect(await cognitoSession(config, env)).toBeNull();
    expect(tab.navigatedTo).toHaveLength(1);
    const authorize = new URL(tab.navigatedTo[0] as string);
    const state = authorize.searchParams.get('state') as string;
    const challenge = authorize.searchParams.get('code_challenge');

    // The hosted UI sends the browser back with a code.
    tab.href = `${CONSOLE}?code=the-code&state=${state}`;
    const session = await cognitoSession(config, env);
    expect(session?.label).toBe('ada@example.com');
    expect(tab.href).toBe(CONSOLE); // the code is not left in the address bar
    const exchange = tab.calls[0];
    expect(exchange?.url).toBe(`${config.userPoolDomain}/oauth2/token`);
    const form = Object.fromEntries(new URLSearchParams(exchange?.body));
    expect(form).toMatchObject({
      grant_type: 'authorization_code',
      client_id: 'client123',
      code: 'the-code',
      redirect_uri: CONSOLE,
    });
    // The verifier sent is the one whose S256 challenge went to the hosted UI.
    expect(
      base64Url(
        new Uint8Array(
          createHash('sha256')
            .update(form.code_verifier as string)
            .digest(),
        ),
      ),
    ).toBe(challenge);

    const credentials = await session?.credentials();
    expect(credentials).toMatchObject({
      accessKeyId: 'ASIA1',
      secretAccessKey: 'secret',
      sessionToken: 'session',
    });
    const [getId, getCredentials] = tab.calls.slice(1);
    expect(getId?.url).toBe('https://cognito-identity.eu-west-1.amazonaws.com/');
    expect(getId?.headers).toMatchObject({
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AWSCognitoIdentityService.GetId',
    });
    const logins = {
      'cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool': idToken({ email: 'ada@example.com' }),
    };
    expect(JSON.parse(getId?.body ?? '')).toEqual({ IdentityPoolId: config.identityPoolId, Logins: logins });
    expect(JSON.parse(getCredentials?.body ?? '')).toEqual({ IdentityId: 'eu-west-1:id-1', Logins: logins });

    // Reused until near expiry; no token or credential is kept outside sessionStorage and memory.
    await session?.credentials();
    expect(tab.calls).toHaveLength(3);
    expect([...tab.storage.values()].join()).not.toContain('ASIA1');
  });

  it('renews the ID token with the refresh token, then the credentials, before they expire', async () => {
    const { tab, env } = fakeTab(cognito());
    await cognitoSession(config, env);
    const state = new URL(tab.navigatedTo[0] as string).searchParams.get('state');
    tab.href = `${CONSOLE}?code=c&state=${state}`;
    const session = await cognitoSession(config, env);
    await session?.credentials();
    const before = tab.calls.length;

    tab.now += 56 * 60 * 1000; // within five minutes of both expiries
    await Promise.all([session?.credentials(), session?.credentials()]);
    const renewal = tab.calls.slice(before);
    expect(renewal.map((c) => c.headers['x-amz-target'] ?? new URL(c.url).pathname)).toEqual([
      '/oauth2/token',
      'AWSCognitoIdentityService.GetCredentialsForIdentity',
    ]);
    expect(Object.fromEntries(new URLSearchParams(renewal[0]?.body))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'client123',
      refresh_token: 'refresh-1',
    });
  });

  it('stays signed in across a reload of the tab, without a new sign-in', async () => {
    const { tab, env } = fakeTab(cognito());
    await cognitoSession(config, env);
    const state = new URL(tab.navigatedTo[0] as string).searchParams.get('state');
    tab.href = `${CONSOLE}?code=c&state=${state}`;
    await cognitoSession(config, env);
    tab.href = CONSOLE;
    const again = await cognitoSession(config, env);
    expect(again?.label).toBe('ada@example.com');
    expect(tab.navigatedTo).toHaveLength(1);
  });

  it('never exchanges a code whose state this tab did not issue', async () => {
    const { tab, env } = fakeTab(cognito());
    await cognitoSession(config, env);
    tab.href = `${CONSOLE}?code=stolen&state=forged`;
    await expect(cognitoSession(config, env)).rejects.toThrow('does not match');
    expect(tab.calls).toEqual([]);
    expect(tab.href).toBe(CONSOLE);
  });

  it('says why when the hosted UI refused', async () => {
    const { tab, env } = fakeTab(cognito());
    tab.href = `${CONSOLE}?error=access_denied&error_description=User+is+disabled`;
    await expect(cognitoSession(config, env)).rejects.toThrow('User is disabled');
  });

  it('reports the identity pool’s refusal (a user in no group: ambiguous role denied)', async () => {
    const { tab, env } = fakeTab((call) =>
      call.headers['x-amz-target'] === 'AWSCognitoIdentityService.GetCredentialsForIdentity'
        ? { status: 400, body: { __type: 'InvalidIdentityPoolConfigurationException', message: 'no role' } }
        : cognito()(call),
    );
    await cognitoSession(config, env);
    const state = new URL(tab.navigatedTo[0] as string).searchParams.get('state');
    tab.href = `${CONSOLE}?code=c&state=${state}`;
    const session = await cognitoSession(config, env);
    await expect(session?.credentials()).rejects.toThrow(
      'GetCredentialsForIdentity (400 InvalidIdentityPoolConfigurationException): no role',
    );
  });

  it('signs out: forgets the tokens, revokes the refresh token, ends the hosted UI session', async () => {
    const { tab, env } = fakeTab(cognito());
    await cognitoSession(config, env);
    const state = new URL(tab.navigatedTo[0] as string).searchParams.get('state');
    tab.href = `${CONSOLE}?code=c&state=${state}`;
    const session = await cognitoSession(config, env);
    session?.signOut();
    expect(tab.storage.size).toBe(0);
    const revoke = tab.calls.find((c) => c.url.endsWith('/oauth2/revoke'));
    expect(Object.fromEntries(new URLSearchParams(revoke?.body))).toEqual({
      token: 'refresh-1',
      client_id: 'client123',
    });
    expect(tab.navigatedTo.at(-1)).toBe(logoutUrl(config, CONSOLE));
  });
});
