/**
 * Local IAM principals for SigV4 on management routes. Random on first start, kept in
 * `.local/credentials.json` (mode 600) and reused after; tests keep theirs in memory.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalPrincipal {
  readonly name: string;
  readonly access_key_id: string;
  readonly secret_access_key: string;
  readonly arn: string;
  /** Stands for `aws:MultiFactorAuthPresent` (root mode, docs/management-api.md). */
  readonly mfa: boolean;
}

export interface CredentialsFile {
  readonly principals: LocalPrincipal[];
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function accessKeyId(): string {
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) id += BASE32[randomInt(BASE32.length)];
  return id;
}

function secretAccessKey(): string {
  return randomBytes(30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
}

export function principal(name: string, mfa = false): LocalPrincipal {
  return {
    name,
    access_key_id: accessKeyId(),
    secret_access_key: secretAccessKey(),
    arn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/latchkey-${name}`,
    mfa,
  };
}

/** admin for everyday calls, auditor as a second identity, root-admin carries MFA for root mode. */
export function generatePrincipals(): LocalPrincipal[] {
  return [principal('admin'), principal('auditor'), principal('root-admin', true)];
}

function parse(file: string): LocalPrincipal[] {
  const data = JSON.parse(readFileSync(file, 'utf8')) as Partial<CredentialsFile>;
  const list = data.principals;
  const valid =
    Array.isArray(list) &&
    list.length > 0 &&
    list.every(
      (p) =>
        typeof p?.name === 'string' &&
        typeof p.access_key_id === 'string' &&
        typeof p.secret_access_key === 'string' &&
        typeof p.arn === 'string',
    );
  if (!valid) {
    throw new Error(
      `${file} is not a valid credentials file ({ "principals": [ { name, access_key_id, secret_access_key, arn } ] }). Fix or delete it.`,
    );
  }
  return list.map((p) => ({ ...p, mfa: p.mfa === true }));
}

/** Reads the file, or writes new random principals to it; `created` says which. */
export function loadOrCreateCredentials(file: string): { principals: LocalPrincipal[]; created: boolean } {
  if (existsSync(file)) return { principals: parse(file), created: false };
  const principals = generatePrincipals();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ principals } satisfies CredentialsFile, null, 2)}\n`, {
    mode: 0o600,
  });
  return { principals, created: true };
}
