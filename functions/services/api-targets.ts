/**
 * The authorizer's view of protected APIs (docs/protecting-apis.md): the registration a request
 * names, kept in memory for a short while. Apart from `api-registry.ts` so the authorizer's bundle
 * carries no management code.
 */
import {
  type ApiDefinition,
  type ApiRegistration,
  builtInRegistration,
  DEFAULT_API,
} from '../domain/api-registration';
import { getApiItem } from '../repositories/apis-repository';
import { setting } from '../shared/config';

/** The built-in registration: the demo routes (or none), their environment, Latchkey's own account. */
export function builtIn(): ApiRegistration {
  return builtInRegistration({
    routes: setting('routeScopes'),
    environment: setting('apiEnvironment'),
    accounts: [setting('accountId')],
  });
}

/** What a decision needs from a registration. */
export interface ApiTarget {
  readonly name: string;
  readonly routes: Readonly<Record<string, string>>;
  readonly environment: ApiDefinition['environment'];
  readonly accounts: readonly string[];
}

const MAX_CACHED = 256;
const cache = new Map<string, { readonly at: number; readonly target: ApiTarget | undefined }>();

/**
 * The registration `name` (a request's `latchkeyApi` stage variable; `default` without one), kept
 * in memory for `apiCacheSeconds`: a route-map change reaches each authorizer instance within that
 * time. A registration that does not exist is remembered as well, as briefly. A failure to read
 * throws, so the caller fails closed.
 */
export async function resolveApi(name: string, now = Date.now()): Promise<ApiTarget | undefined> {
  if (name === DEFAULT_API) return builtIn();
  const ttlMs = setting('apiCacheSeconds') * 1000;
  const hit = cache.get(name);
  if (hit && now - hit.at < ttlMs) return hit.target;
  const item = await getApiItem(name);
  const target = item && {
    name: item.name,
    routes: item.routes ?? {},
    environment: item.environment ?? null,
    accounts: item.accounts ?? [],
  };
  if (ttlMs > 0) {
    cache.delete(name);
    // Oldest first: a Map iterates in insertion order, and a refreshed entry is re-inserted.
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(name, { at: now, target });
  }
  return target;
}
