/** Matches a request against the declared routes, in declaration order (static before `{param}`). */
import type { RouteDeclaration } from '../lib/declaration';

export type RouteMatch =
  | {
      readonly kind: 'route';
      readonly route: RouteDeclaration;
      readonly pathParameters: Record<string, string>;
      /** The path the route matched: one trailing slash removed, as API Gateway does. */
      readonly path: string;
    }
  /** The path is a declared resource, but not with this method. */
  | { readonly kind: 'method-not-declared' }
  | { readonly kind: 'none' };

function matchPath(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  let got = path.split('/');
  // A greedy `{proxy+}` (registered APIs only) takes the rest of the path, at least one segment.
  const greedy = /^\{(\w+)\+\}$/.exec(want[want.length - 1] ?? '')?.[1];
  if (greedy && got.length >= want.length) {
    got = [...got.slice(0, want.length - 1), got.slice(want.length - 1).join('/')];
    want[want.length - 1] = `{${greedy}}`;
  }
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    const param = /^\{(\w+)\}$/.exec(w)?.[1];
    if (param) {
      if (!g) return undefined;
      try {
        params[param] =
          param === greedy ? g.split('/').map(decodeURIComponent).join('/') : decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

/** API Gateway ignores one trailing slash on a resource path. */
function normalizePath(rawPath: string): string {
  return rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
}

export function matchRoute(routes: readonly RouteDeclaration[], method: string, rawPath: string): RouteMatch {
  const path = normalizePath(rawPath);
  let pathKnown = false;
  for (const route of routes) {
    const pathParameters = matchPath(route.path, path);
    if (!pathParameters) continue;
    if (route.method === method) return { kind: 'route', route, pathParameters, path };
    pathKnown = true;
  }
  return pathKnown ? { kind: 'method-not-declared' } : { kind: 'none' };
}
