/**
 * Protected APIs as data (docs/protecting-apis.md): a product team registers its API with the
 * scopes it defines and its route → scope map; the shared authorizer reads the registration a
 * request names. The built-in registration `default` is Latchkey's own: the scope catalog
 * (`config/scope-catalog.json`) and the demo routes. Pure rules, no I/O.
 */
import type { ErrorDetail } from './errors';
import { catalogEntry, type ScopeEntry, scopeCatalog } from './scopes';
import type { Environment } from './token';

/** The built-in registration: the catalog's scopes and Latchkey's demo routes. */
export const DEFAULT_API = 'default';

/** API names: lowercase, digits and `-`, as in a URL path segment or a CloudFormation value. */
export const API_NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;

/** Concrete verbs only: the authorizer sees the request's real verb, so an `ANY` route could never match. */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

export const MAX_API_SCOPES = 100;
export const MAX_API_ROUTES = 300;
export const MAX_API_ACCOUNTS = 100;
/**
 * Modules one registration may define: each is claimed in the same transaction as the registration
 * and its audit entry, and DynamoDB takes at most 100 items per transaction.
 */
export const MAX_API_MODULES = 25;

const LITERAL_SEGMENT = /^[A-Za-z0-9._~:@!$&'()*,;=-]+$/;
const PARAM_SEGMENT = /^\{[A-Za-z_][A-Za-z0-9_]*\}$/;
const GREEDY_SEGMENT = /^\{[A-Za-z_][A-Za-z0-9_]*\+\}$/;

/**
 * Why `routeKey` is not `"METHOD /path"` as API Gateway names routes (resource paths with
 * `{param}` segments and at most a final greedy `{param+}`), or undefined when it is.
 */
export function routeKeyProblem(routeKey: string): string | undefined {
  const m = /^(\S+) (\/\S*)$/.exec(routeKey);
  if (!m) return 'must be "METHOD /path", e.g. "GET /orders/{id}"';
  const [, method = '', path = ''] = m;
  if (!(ROUTE_METHODS as readonly string[]).includes(method)) {
    return `method must be one of ${ROUTE_METHODS.join(', ')} (the authorizer sees the real verb, so ANY never matches)`;
  }
  if (path === '/') return undefined;
  const segments = path.slice(1).split('/');
  for (const [i, segment] of segments.entries()) {
    if (GREEDY_SEGMENT.test(segment)) {
      if (i !== segments.length - 1) return 'a greedy {param+} must be the last segment';
    } else if (!PARAM_SEGMENT.test(segment) && !LITERAL_SEGMENT.test(segment)) {
      return `path segment ${JSON.stringify(segment)} is neither a literal nor a {param}`;
    }
  }
  return undefined;
}

/** What a team registers (the body of `PUT /v1/apis/{api}`, once validated). */
export interface ApiDefinition {
  readonly owner: string;
  readonly description?: string;
  readonly organization_id: string;
  /** Only keys of this environment may call the API; `null` admits every environment. */
  readonly environment: Environment | null;
  /** AWS accounts whose API Gateway APIs may use this registration. */
  readonly accounts: readonly string[];
  readonly scopes: readonly ScopeEntry[];
  /** `"METHOD /path"` → scope. A route not in the map is refused (`route_unknown`). */
  readonly routes: Readonly<Record<string, string>>;
}

export interface ApiRegistration extends ApiDefinition {
  readonly name: string;
  /** `default` only: defined by Latchkey's configuration, not through the API. */
  readonly built_in: boolean;
  readonly created_at: string | null;
  readonly created_by: string | null;
  readonly updated_at: string | null;
  readonly updated_by: string | null;
  readonly version: number | null;
}

const catalogModules = new Set(scopeCatalog.map((e) => e.module));

/** The modules a registration's scopes belong to, each with its scopes. */
export function modulesOf(scopes: readonly Pick<ScopeEntry, 'scope' | 'module'>[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of scopes) out.set(s.module, [...(out.get(s.module) ?? []), s.scope]);
  return out;
}

/**
 * The rules a definition must follow beyond its shape: its own scopes are in modules of its own
 * (not the catalog's: `agents:read` means the same everywhere), defined once; every route needs
 * one of its own scopes or a catalog scope. Which modules other APIs own is checked on write.
 */
export function definitionProblems(definition: ApiDefinition): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const own = new Set<string>();
  definition.scopes.forEach((s, i) => {
    if (catalogModules.has(s.module)) {
      problems.push({
        field: `scopes.${i}.scope`,
        message: `module ${s.module} belongs to Latchkey's built-in catalog; define scopes in a module of your own`,
      });
    }
    if (own.has(s.scope))
      problems.push({ field: `scopes.${i}.scope`, message: `${s.scope} is defined twice` });
    own.add(s.scope);
  });
  if (modulesOf(definition.scopes).size > MAX_API_MODULES) {
    problems.push({ field: 'scopes', message: `at most ${MAX_API_MODULES} modules per API` });
  }
  for (const [route, scope] of Object.entries(definition.routes)) {
    if (!own.has(scope) && !catalogEntry(scope)) {
      problems.push({
        field: `routes.${route}`,
        message: `scope ${JSON.stringify(scope)} is neither defined by this API nor in the built-in catalog`,
      });
    }
  }
  return problems;
}

/** The built-in registration, from Latchkey's own configuration (never stored). */
export function builtInRegistration(config: {
  readonly routes: Readonly<Record<string, string>>;
  readonly environment: Environment | null;
  readonly accounts: readonly string[];
}): ApiRegistration {
  return {
    name: DEFAULT_API,
    owner: 'latchkey',
    description: "Latchkey's built-in scope catalog and demo routes",
    organization_id: 'default',
    environment: config.environment,
    accounts: config.accounts,
    scopes: scopeCatalog,
    routes: config.routes,
    built_in: true,
    created_at: null,
    created_by: null,
    updated_at: null,
    updated_by: null,
    version: null,
  };
}
