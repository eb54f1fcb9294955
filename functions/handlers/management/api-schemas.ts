/** Request schemas of the API registration routes and of verify (docs/management-api.md). */
import { z } from 'zod';
import {
  API_NAME_PATTERN,
  MAX_API_ACCOUNTS,
  MAX_API_ROUTES,
  MAX_API_SCOPES,
  routeKeyProblem,
} from '../../domain/api-registration';
import { isValidCidr } from '../../domain/ip-allowlist';
import { type Permission, type RiskLevel, SCOPE_PATTERN } from '../../domain/scopes';
import { ENVIRONMENTS } from '../../domain/token';
import { displayText, tenantId } from './schemas';

const apiName = z
  .string()
  .regex(API_NAME_PATTERN, 'must be 1-63 lowercase letters, digits and -, starting with a letter');

export const apiParams = z.object({ api: apiName });

const scopeFormat = z.string().regex(SCOPE_PATTERN, 'must look like <module>:<read|write|execute|admin>');

const scopeDefinition = z
  .object({
    scope: scopeFormat,
    description: displayText(
      z.string().trim().min(1, 'is required').max(256, 'must be at most 256 characters'),
    ),
    risk_level: z.enum(['low', 'medium', 'high', 'critical']),
  })
  .strict()
  .transform((s) => {
    const at = s.scope.indexOf(':');
    return {
      scope: s.scope,
      module: s.scope.slice(0, at),
      permission: s.scope.slice(at + 1) as Permission,
      description: s.description,
      risk_level: s.risk_level as RiskLevel,
    };
  });

/** `"METHOD /path": "scope"`; each key and value checked, a bad one named by its route. */
const routeMap = z.record(z.string(), z.unknown()).superRefine((routes, ctx) => {
  const entries = Object.entries(routes);
  if (entries.length > MAX_API_ROUTES)
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_API_ROUTES} routes` });
  for (const [route, scope] of entries) {
    const problem = routeKeyProblem(route);
    if (problem) ctx.addIssue({ code: 'custom', path: [route], message: problem });
    else if (typeof scope !== 'string' || !SCOPE_PATTERN.test(scope)) {
      ctx.addIssue({
        code: 'custom',
        path: [route],
        message: 'must be a scope, <module>:<read|write|execute|admin>',
      });
    }
  }
}) as unknown as z.ZodType<Record<string, string>>;

/** The body of `PUT /v1/apis/{api}`: the whole registration (docs/protecting-apis.md). */
export const putApiBody = z
  .object({
    owner: displayText(z.string().trim().min(1, 'is required').max(128, 'must be at most 128 characters')),
    description: displayText(z.string().max(1024, 'must be at most 1024 characters'), true).optional(),
    organization_id: tenantId.default('default'),
    environment: z.enum(ENVIRONMENTS).nullable().default(null),
    accounts: z
      .array(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'))
      .min(1, 'at least one account, or leave it out for Latchkey’s own')
      .max(MAX_API_ACCOUNTS)
      .transform((a) => [...new Set(a)])
      .optional(),
    scopes: z.array(scopeDefinition).max(MAX_API_SCOPES).default([]),
    routes: routeMap,
  })
  .strict();

const sourceIp = z
  .string()
  .max(64)
  .refine((ip) => !ip.includes('/') && isValidCidr(ip), 'must be an IPv4 or IPv6 address');

/** The body of `POST /v1/keys/verify`: a key and what it wants to do (a route of an API, or a scope). */
export const verifyBody = z
  .object({
    key: z.string().max(512).optional(),
    api: apiName.default('default'),
    route: z
      .string()
      .max(2048)
      .superRefine((r, ctx) => {
        const problem = routeKeyProblem(r);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    scope: scopeFormat.optional(),
    source_ip: sourceIp.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.route === undefined) === (b.scope === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['route'], message: 'give route or scope, exactly one' });
    }
  });
export type VerifyBody = z.infer<typeof verifyBody>;
