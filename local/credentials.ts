/**
 * Local credentials, random on first start, kept in `.local/credentials.json` (mode 600) and reused
 * after; tests keep theirs in memory. Three kinds, one file:
 * - `principals`: IAM users for SigV4 on the management routes (and nothing else), one per admin
 *   role, each with the binding the stack gives it on start (docs/tenancy.md) and whether its
 *   requests carry MFA (`mfa`, what `aws:MultiFactorAuthPresent` says on AWS);
 * - `operator`: the developer's own identity on the local AWS endpoints (KMS, Secrets Manager,
 *   EventBridge, `/_local/events`), like the account's administrator: calls made outside any
 *   function (tests seeding data, the stack itself) sign with it;
 * - `functions`: one role's keys per declared function; its SDK calls sign with them (`iam.ts`).
 * Only `principals` are ever printed (`start.ts`); the others stay in the file.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Role } from '../functions/domain/access';
import { functions } from '../lib/declaration';

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface AccessKeys {
  readonly access_key_id: string;
  readonly secret_access_key: string;
}

/** The binding the local stack creates for a principal on start, when absent (docs/tenancy.md). */
export interface LocalBinding {
  readonly role: Role;
  readonly organization_id?: string;
  readonly workspace_ids?: readonly string[];
  readonly root_allowed?: boolean;
}

export interface LocalPrincipal extends AccessKeys {
  readonly name: string;
  readonly arn: string;
  /** Whether its requests count as signed with MFA credentials (routes declared `mfa` need it). */
  readonly mfa?: boolean;
  readonly binding?: LocalBinding;
}

export interface LocalCredentials {
  readonly principals: LocalPrincipal[];
  readonly operator: LocalPrincipal;
  /** By function name (`FunctionDeclaration.name`). */
  readonly functions: Record<string, AccessKeys>;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function accessKeys(): AccessKeys {
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) id += BASE32[randomInt(BASE32.length)];
  return {
    access_key_id: id,
    secret_access_key: randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B'),
  };
}

export function principal(
  name: string,
  extra: { mfa?: boolean; binding?: LocalBinding } = {},
): LocalPrincipal {
  return { name, ...accessKeys(), arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/latchkey-${name}`, ...extra };
}

/** The local organization and workspace the role principals are bound in. */
export const LOCAL_ORGANIZATION = 'acme';
export const LOCAL_WORKSPACE = 'acme-prod';

/**
 * One principal per admin role; the first, the super admin (MFA, root allowed), is the one the
 * README walkthrough and `npm start`'s example use.
 */
export const LOCAL_ROLE_PRINCIPALS: readonly { name: string; mfa?: boolean; binding: LocalBinding }[] = [
  { name: 'super-admin', mfa: true, binding: { role: 'super_admin', root_allowed: true } },
  { name: 'org-owner', binding: { role: 'org_owner', organization_id: LOCAL_ORGANIZATION } },
  {
    name: 'workspace-admin',
    binding: {
      role: 'workspace_admin',
      organization_id: LOCAL_ORGANIZATION,
      workspace_ids: [LOCAL_WORKSPACE],
    },
  },
  { name: 'auditor', binding: { role: 'auditor', organization_id: LOCAL_ORGANIZATION } },
  { name: 'member', binding: { role: 'member', organization_id: LOCAL_ORGANIZATION } },
];

export function generatePrincipals(): LocalPrincipal[] {
  return LOCAL_ROLE_PRINCIPALS.map(({ name, ...extra }) => principal(name, extra));
}

const declaredNames = () => Object.values(functions).map((f) => f.name);

export function generateCredentials(functionNames: readonly string[] = declaredNames()): LocalCredentials {
  return {
    principals: generatePrincipals(),
    operator: principal('operator'),
    functions: Object.fromEntries(functionNames.map((name) => [name, accessKeys()])),
  };
}

const isKeys = (k: unknown): k is AccessKeys =>
  typeof k === 'object' &&
  k !== null &&
  typeof (k as AccessKeys).access_key_id === 'string' &&
  typeof (k as AccessKeys).secret_access_key === 'string';

const isPrincipal = (p: unknown): p is LocalPrincipal =>
  isKeys(p) &&
  typeof (p as LocalPrincipal).name === 'string' &&
  typeof (p as LocalPrincipal).arn === 'string' &&
  ['undefined', 'boolean'].includes(typeof (p as LocalPrincipal).mfa) &&
  ['undefined', 'object'].includes(typeof (p as LocalPrincipal).binding);

function parsePrincipals(file: string, list: unknown): LocalPrincipal[] {
  if (!Array.isArray(list) || list.length === 0 || !list.every(isPrincipal)) {
    throw new Error(
      `${file} is not a valid credentials file ({ "principals": [ { name, access_key_id, secret_access_key, arn } ] }). Fix or delete it.`,
    );
  }
  return list.map(({ name, access_key_id, secret_access_key, arn, mfa, binding }) => ({
    name,
    access_key_id,
    secret_access_key,
    arn,
    ...(mfa !== undefined ? { mfa } : {}),
    ...(binding ? { binding } : {}),
  }));
}

/**
 * A file written before roles existed holds principals no role is given to (every management
 * request of theirs would be refused): it gets the role principals instead.
 */
function withRolePrincipals(principals: LocalPrincipal[]): { principals: LocalPrincipal[]; added: boolean } {
  if (principals.some((p) => p.binding)) return { principals, added: false };
  return { principals: generatePrincipals(), added: true };
}

function write(file: string, credentials: LocalCredentials): void {
  mkdirSync(dirname(file), { recursive: true });
  // Write-then-rename: the file is 600 from its first byte, and never half written.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/**
 * Reads the file, or writes new random credentials to it; `created` says which. A function declared
 * after the file was written (or the operator) gets its keys now, saved with the rest.
 */
export function loadOrCreateCredentials(
  file: string,
  functionNames: readonly string[] = declaredNames(),
): LocalCredentials & { created: boolean } {
  if (!existsSync(file)) {
    const credentials = generateCredentials(functionNames);
    write(file, credentials);
    return { ...credentials, created: true };
  }
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<keyof LocalCredentials, unknown>>;
  const { principals, added } = withRolePrincipals(parsePrincipals(file, data.principals));
  const saved = typeof data.functions === 'object' && data.functions !== null ? data.functions : {};
  const keys = Object.fromEntries(Object.entries(saved).filter(([, k]) => isKeys(k))) as Record<
    string,
    AccessKeys
  >;
  const missing = functionNames.filter((name) => !keys[name]);
  for (const name of missing) keys[name] = accessKeys();
  const hasOperator = isPrincipal(data.operator);
  const operator = isPrincipal(data.operator) ? data.operator : principal('operator');
  const credentials: LocalCredentials = { principals, operator, functions: keys };
  if (missing.length > 0 || !hasOperator || added) write(file, credentials);
  return { ...credentials, created: false };
}
