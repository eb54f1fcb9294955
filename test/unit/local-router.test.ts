/** The local gateway's route matching (`local/router.ts`), greedy `{proxy+}` routes of registered APIs included. */
import type { RouteDeclaration } from '../../lib/declaration';
import { functions } from '../../lib/declaration';
import { matchRoute } from '../../local/router';

const route = (method: RouteDeclaration['method'], path: string): RouteDeclaration => ({
  method,
  path,
  auth: { type: 'latchkey', scope: 'files:read' },
  fn: functions.demo,
});

const routes = [route('GET', '/files/index'), route('GET', '/files/{path+}'), route('GET', '/users/{id}')];

it('matches a greedy parameter against the rest of the path, decoded segment by segment', () => {
  expect(matchRoute(routes, 'GET', '/files/a/b%20c/d.txt')).toMatchObject({
    kind: 'route',
    route: { path: '/files/{path+}' },
    pathParameters: { path: 'a/b c/d.txt' },
  });
  expect(matchRoute(routes, 'GET', '/files/one')).toMatchObject({ pathParameters: { path: 'one' } });
});

it('prefers the routes listed first, needs at least one segment, and keeps {param} to one segment', () => {
  expect(matchRoute(routes, 'GET', '/files/index')).toMatchObject({ route: { path: '/files/index' } });
  expect(matchRoute(routes, 'GET', '/files').kind).toBe('none');
  expect(matchRoute(routes, 'GET', '/users/1/2').kind).toBe('none');
  expect(matchRoute(routes, 'POST', '/files/a').kind).toBe('method-not-declared');
});
