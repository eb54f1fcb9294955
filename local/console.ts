/**
 * The admin console on the local gateway (docs/console.md, docs/local-stack.md): the built files of
 * `console/build.ts` under `/console/`, a `config.json` for local mode, and `local-principals.json`
 * (the local principals and their throwaway keys, so the page can act as one of them).
 *
 * `local-principals.json` hands out credentials, so it answers only a request whose `Host` is the
 * loopback name and port the gateway listens on: a page from another site that rebinds its DNS name
 * to 127.0.0.1 sends its own name as `Host` and is refused. It carries no CORS headers, so no other
 * origin's script may read it either. Every console answer carries the CSP the hosted console has,
 * so the local tests prove the app runs under it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalPrincipal } from './credentials';

/** The console's CSP, locally: the AWS one adds the API's and Cognito's origins to `connect-src`. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

export const CONSOLE_PATH = '/console';

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
};

export interface ConsoleRequest {
  readonly method: string;
  readonly path: string;
  /** The request's `Host` header, as sent. */
  readonly host: string | undefined;
  /** The port the gateway listens on. */
  readonly port: number;
}

export interface ConsoleReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer | string;
}

export interface ConsoleServingOptions {
  /** Where `buildConsole()` wrote the console. */
  readonly dir: string;
  readonly region: string;
  readonly principals: () => readonly LocalPrincipal[];
}

/** `127.0.0.1:<port>` or `localhost:<port>`, the only names the gateway answers credentials to. */
export function isLoopbackHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const h = host.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

const reply = (status: number, type: string, body: Buffer | string, extra: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': type, ...SECURITY_HEADERS, ...extra },
  body,
});

const notFound = () =>
  reply(
    404,
    'application/json',
    JSON.stringify({ error: { code: 'not_found', message: 'No such console file', details: [] } }),
  );

/**
 * The console's answer to a request under `/console`, or undefined when the path is not the
 * console's (the gateway then routes it as usual).
 */
export function consoleResponder(options: ConsoleServingOptions) {
  return (request: ConsoleRequest): ConsoleReply | undefined => {
    const { path, method } = request;
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return undefined;
    if (method !== 'GET' && method !== 'HEAD') {
      return reply(
        405,
        'application/json',
        JSON.stringify({
          error: { code: 'method_not_allowed', message: 'The console is read-only', details: [] },
        }),
        { allow: 'GET, HEAD' },
      );
    }
    // Relative URLs in index.html need the trailing slash.
    if (path === CONSOLE_PATH) return reply(308, 'text/plain', '', { location: `${CONSOLE_PATH}/` });
    const name = path.slice(CONSOLE_PATH.length + 1) || 'index.html';
    const loopback = isLoopbackHost(request.host, request.port);
    if (name === 'config.json') {
      // Same origin as the page, so management calls need no CORS; any other name gets 127.0.0.1.
      const origin = loopback ? `http://${request.host?.toLowerCase()}` : `http://127.0.0.1:${request.port}`;
      const config = {
        mode: 'local',
        region: options.region,
        apiBaseUrl: `${origin}/`,
        principalsUrl: 'local-principals.json',
      };
      return reply(200, 'application/json', JSON.stringify(config), { 'cache-control': 'no-store' });
    }
    if (name === 'local-principals.json') {
      if (!loopback) {
        return reply(
          403,
          'application/json',
          JSON.stringify({
            error: {
              code: 'forbidden',
              message: `The local principals are served to 127.0.0.1:${request.port} and localhost:${request.port} only`,
              details: [{ field: 'host', message: 'is not the loopback address' }],
            },
          }),
        );
      }
      const principals = options.principals().map((p) => ({
        name: p.name,
        arn: p.arn,
        mfa: p.mfa === true,
        binding: p.binding ?? null,
        access_key_id: p.access_key_id,
        secret_access_key: p.secret_access_key,
      }));
      return reply(200, 'application/json', JSON.stringify({ principals }), { 'cache-control': 'no-store' });
    }
    // Only files the build wrote, by exact name: no path ever reaches the file system.
    if (!existsSync(options.dir) || !readdirSync(options.dir).includes(name)) return notFound();
    const type = TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
    return reply(200, type, readFileSync(join(options.dir, name)), { 'cache-control': 'no-cache' });
  };
}
