/**
 * Scopes (docs/scopes.md): `<module>:<permission>`; `admin` implies read, write and execute on its module.
 * The catalog is data (`config/scope-catalog.json`), bundled into each function at deploy time.
 */
import catalogFile from '../../config/scope-catalog.json';

export const PERMISSIONS = ['read', 'write', 'execute', 'admin'] as const;
export type Permission = (typeof PERMISSIONS)[number];
export type RiskLevel = 'low' | 'medium' | 'high' | 'critical';

export interface ScopeEntry {
  readonly scope: string;
  readonly module: string;
  readonly permission: Permission;
  readonly description: string;
  readonly risk_level: RiskLevel;
}

export const SCOPE_PATTERN = /^[a-z][a-z0-9-]*:(read|write|execute|admin)$/;
const SYSTEM_MODULE = 'system';

// Marked pure, and the map below built on first use: the authorizer only calls `grants`, so its
// bundle leaves the catalog out.
export const scopeCatalog: readonly ScopeEntry[] = /* @__PURE__ */ (() =>
  catalogFile.scopes as ScopeEntry[])();
let catalogByScope: Map<string, ScopeEntry> | undefined;

export function catalogEntry(scope: string): ScopeEntry | undefined {
  catalogByScope ??= new Map(scopeCatalog.map((e) => [e.scope, e]));
  return catalogByScope.get(scope);
}

function scopeModule(scope: string): string {
  return scope.slice(0, scope.indexOf(':'));
}

export function isSystemScope(scope: string): boolean {
  return scopeModule(scope) === SYSTEM_MODULE;
}

/** Whether a key holding `held` may call a route that needs `required`. */
export function grants(held: readonly string[], required: string): boolean {
  if (held.includes(required)) return true;
  const module = scopeModule(required);
  return held.includes(`${module}:admin`);
}
