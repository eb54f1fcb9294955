/** The management API as the console's browser tests check it: signed as a local principal. */
import type { LocalPrincipal } from '../../local/credentials';
import type { LocalStack } from '../../local/stack';
import { ManagementApi } from '../../sdk/management';

export function apiAs(stack: LocalStack, name: string): ManagementApi {
  const principal = stack.credentials.find((p: LocalPrincipal) => p.name === name);
  if (!principal) throw new Error(`no local principal ${name}`);
  return new ManagementApi({
    baseUrl: `${stack.url}/`,
    region: stack.region,
    credentials: async () => ({
      accessKeyId: principal.access_key_id,
      secretAccessKey: principal.secret_access_key,
    }),
  });
}

/** Polls `read` until `done` holds (the stream and the authorizer's counts are asynchronous). */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() - started > 20_000)
      throw new Error(`${what} never held; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
