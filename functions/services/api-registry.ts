/**
 * Protected APIs as data (docs/protecting-apis.md): registering an API with its scopes and route
 * map, reading registrations back, checking that a key's scopes exist, and resolving the
 * registration a request names for the authorizer (with a short in-memory cache).
 */
import { randomUUID } from 'node:crypto';
import type { Actor } from '../domain/api-key';
import {
  type ApiDefinition,
  type ApiRegistration,
  DEFAULT_API,
  definitionProblems,
  modulesOf,
} from '../domain/api-registration';
import { registrationEntry } from '../domain/audit';
import { NotFoundError, ValidationError } from '../domain/errors';
import { catalogEntry } from '../domain/scopes';
import {
  type ApiItem,
  getApiItem,
  getModuleItem,
  listApiItems,
  ModuleTakenError,
  writeRegistration,
} from '../repositories/apis-repository';
import { decodeNextToken, encodeNextToken } from '../shared/pagination';
import { builtIn } from './api-targets';

type Clock = () => Date;
const systemClock: Clock = () => new Date();

function definitionOf(item: ApiItem): ApiDefinition {
  return {
    owner: item.owner,
    ...(item.description !== undefined ? { description: item.description } : {}),
    organization_id: item.organization_id,
    environment: item.environment ?? null,
    accounts: item.accounts ?? [],
    scopes: item.scopes ?? [],
    routes: item.routes ?? {},
  };
}

function registrationOf(item: ApiItem): ApiRegistration {
  return {
    name: item.name,
    ...definitionOf(item),
    built_in: false,
    created_at: item.created_at,
    created_by: item.created_by,
    updated_at: item.updated_at,
    updated_by: item.updated_by,
    version: item.version,
  };
}

// ---- Management ------------------------------------------------------------------------------------

export interface RegisteredApi {
  /** True when this call registered the API; false when it replaced (or confirmed) a registration. */
  readonly created: boolean;
  readonly registration: ApiRegistration;
}

/**
 * Registers `name`, or replaces its registration whole (PUT semantics). A definition equal to the
 * stored one changes nothing and writes no audit entry, so a pipeline can apply it on every deploy.
 */
export interface RegisterOptions {
  readonly clock?: Clock;
  /** Called with the organization of the registration being replaced, before anything is written. */
  readonly beforeChange?: (previousOrganization: string) => Promise<void>;
}

export async function registerApi(
  name: string,
  definition: ApiDefinition,
  actor: Actor,
  options: RegisterOptions = {},
): Promise<RegisteredApi> {
  const clock = options.clock ?? systemClock;
  if (name === DEFAULT_API) {
    throw new ValidationError(
      `${DEFAULT_API} is Latchkey's built-in registration; it is configured, not registered.`,
      [{ field: 'path.api', message: `${DEFAULT_API} is reserved` }],
    );
  }
  const problems = definitionProblems(definition);
  if (problems.length) {
    throw new ValidationError(
      `Invalid API definition: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
      problems,
    );
  }
  const before = await getApiItem(name);
  if (before) await options.beforeChange?.(before.organization_id);
  const now = clock();
  const audit = registrationEntry({
    eventId: randomUUID(),
    api: name,
    before: before && definitionOf(before),
    after: definition,
    actor,
    at: now,
  });
  if (before && Object.keys(audit.changes).length === 0) {
    return { created: false, registration: registrationOf(before) };
  }
  const wanted = modulesOf(definition.scopes);
  // A friendly 409 naming the owner; the transaction's condition still decides a race.
  const claims = await Promise.all([...wanted.keys()].map(getModuleItem));
  const taken = claims.find((c) => c !== undefined && c.api !== name);
  if (taken) {
    throw new ModuleTakenError(`Scope module ${JSON.stringify(taken.module)} belongs to API ${taken.api}.`, [
      { field: 'scopes', message: `module ${taken.module} is defined by API ${taken.api}` },
    ]);
  }
  // Modules dropped from the definition stay claimed by this API, with no scopes: a scope string
  // keys may still hold must never come to mean another API's scope.
  const modules = new Map(wanted);
  for (const module of modulesOf(before?.scopes ?? []).keys())
    if (!modules.has(module)) modules.set(module, []);
  const item = await writeRegistration({
    name,
    definition,
    expectedVersion: before?.version,
    createdAt: before?.created_at ?? now.toISOString(),
    createdBy: before?.created_by ?? actor.principal,
    at: now.toISOString(),
    by: actor.principal,
    modules,
    audit,
  });
  return { created: before === undefined, registration: registrationOf(item) };
}

export async function describeApi(name: string): Promise<ApiRegistration> {
  if (name === DEFAULT_API) return builtIn();
  const item = await getApiItem(name);
  if (!item) throw new NotFoundError(`No API registered as ${JSON.stringify(name)}.`);
  return registrationOf(item);
}

export interface ApiListing {
  readonly items: ApiRegistration[];
  readonly next_token: string | null;
}

/** Registered APIs by name; the first page starts with the built-in one. */
export async function listApis(limit: number, nextToken: string | undefined): Promise<ApiListing> {
  const first = nextToken === undefined;
  const page = await listApiItems(first ? Math.max(limit - 1, 1) : limit, decodeNextToken(nextToken));
  return {
    items: [...(first ? [builtIn()] : []), ...page.items.map(registrationOf)],
    next_token: encodeNextToken(page.lastKey),
  };
}

/**
 * Refuses (400, naming each one) scopes that exist neither in the built-in catalog nor among the
 * scopes a registered API defines. One GetItem per distinct module outside the catalog.
 */
export async function assertScopesExist(scopes: readonly string[]): Promise<void> {
  const modules = [...new Set(scopes.filter((s) => !catalogEntry(s)).map((s) => s.slice(0, s.indexOf(':'))))];
  const defined = new Set(
    (await Promise.all(modules.map(getModuleItem))).flatMap((m) => (m ? [...m.scopes] : [])),
  );
  const unknown = scopes.flatMap((scope, i) =>
    catalogEntry(scope) || defined.has(scope)
      ? []
      : [{ field: `scopes.${i}`, message: `unknown scope ${JSON.stringify(scope)}` }],
  );
  if (unknown.length) {
    throw new ValidationError(
      `Unknown scopes: ${unknown.map((u) => u.message.slice('unknown scope '.length)).join(', ')}. A scope must be in the built-in catalog or defined by a registered API.`,
      unknown,
    );
  }
}
