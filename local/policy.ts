/**
 * Evaluates a Lambda authorizer's policy document the way API Gateway does: a matching `Deny`
 * wins, else a matching `Allow` allows, else the request is denied implicitly. Only what an
 * authorizer policy may hold is understood; anything else is a configuration error (500 on AWS).
 */

export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

export class InvalidPolicyError extends Error {}

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

function strings(value: unknown, what: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v): v is string => typeof v === 'string' && v !== '')) {
    throw new InvalidPolicyError(`${what} must be a string or a non-empty list of strings`);
  }
  return list;
}

function parseStatement(raw: unknown): Statement {
  if (typeof raw !== 'object' || raw === null) throw new InvalidPolicyError('Statement must be an object');
  const s = raw as Record<string, unknown>;
  const unsupported = Object.keys(s).filter((k) => !['Sid', 'Effect', 'Action', 'Resource'].includes(k));
  if (unsupported.length)
    throw new InvalidPolicyError(`Unsupported statement element(s): ${unsupported.join(', ')}`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny')
    throw new InvalidPolicyError('Effect must be Allow or Deny');
  return {
    effect: s.Effect,
    actions: strings(s.Action, 'Action'),
    resources: strings(s.Resource, 'Resource'),
  };
}

function parsePolicy(document: unknown): Statement[] {
  if (typeof document !== 'object' || document === null)
    throw new InvalidPolicyError('policyDocument is missing');
  const statements = (document as Record<string, unknown>).Statement;
  if (statements === undefined) throw new InvalidPolicyError('policyDocument has no Statement');
  return (Array.isArray(statements) ? statements : [statements]).map(parseStatement);
}

/**
 * Compiled globs, by flags and pattern: an authorizer returns the same few resources on every
 * request, so each is compiled once, not per request. Bounded: cleared when full.
 */
const compiled = new Map<string, RegExp>();
const MAX_COMPILED = 10_000;

/** IAM globbing: `*` any run of characters, `?` exactly one. */
function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const flags = caseInsensitive ? 'is' : 's';
  const cacheKey = `${flags}|${pattern}`;
  let regex = compiled.get(cacheKey);
  if (!regex) {
    const source = pattern
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&')))
      .join('');
    if (compiled.size >= MAX_COMPILED) compiled.clear();
    regex = new RegExp(`^${source}$`, flags);
    compiled.set(cacheKey, regex);
  }
  return regex.test(value);
}

/** ARN match: the first five `:`-separated parts match one by one, wildcards never span them. */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const split = (s: string) => {
    const parts = s.split(':');
    return [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const a = split(arn);
  return p.length === a.length && p.every((part, i) => glob(part, a[i] ?? ''));
}

function actionMatches(pattern: string): boolean {
  return glob(pattern, 'execute-api:Invoke', true);
}

export function evaluatePolicy(document: unknown, methodArn: string): PolicyDecision {
  const matching = parsePolicy(document).filter(
    (s) => s.actions.some(actionMatches) && s.resources.some((r) => arnMatches(r, methodArn)),
  );
  if (matching.some((s) => s.effect === 'Deny')) return 'explicit-deny';
  return matching.some((s) => s.effect === 'Allow') ? 'allow' : 'implicit-deny';
}
