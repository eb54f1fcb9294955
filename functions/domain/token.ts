/**
 * The token format of docs/keys.md: `sk_<env>_<id>_<secret><check>`.
 * Pure: no AWS, no I/O. The checksum lets the authorizer refuse typos and junk without a database
 * read, and lets secret scanners recognise real Latchkey keys.
 */

import { randomBytes, randomInt } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const ENVIRONMENTS = ['production', 'staging', 'sandbox', 'development'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/** The short form each environment takes inside a token. */
const ENV_TOKEN_CODES: Readonly<Record<Environment, string>> = {
  production: 'live',
  staging: 'stg',
  sandbox: 'sbx',
  development: 'dev',
};
const ENV_BY_CODE = new Map(Object.entries(ENV_TOKEN_CODES).map(([env, code]) => [code, env as Environment]));

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_LENGTH = 12;
/** 32 random bytes are at most 43 base62 digits; always padded to 43 so the layout is fixed. */
export const SECRET_LENGTH = 43;
const CHECK_LENGTH = 6;

const TOKEN_PATTERN = new RegExp(
  `^sk_(live|stg|sbx|dev)_([0-9A-Za-z]{${ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECK_LENGTH}})$`,
);
export const KEY_ID_PATTERN = new RegExp(`^[0-9A-Za-z]{${ID_LENGTH}}$`);

export interface ParsedToken {
  readonly environment: Environment;
  readonly id: string;
  readonly secret: string;
  /** `sk_<env>_<id>`: safe to show and log. */
  readonly prefix: string;
}

function toBase62(bytes: Uint8Array, width: number): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(width, '0');
}

/**
 * CRC32 of the body in CHECK_LENGTH base62 digits (62^6 > 2^32). Number arithmetic, not BigInt: it
 * runs on every request, junk included, before any read (docs/keys.md).
 */
function checksum(body: string): string {
  let value = crc32(body) >>> 0;
  let out = '';
  for (let i = 0; i < CHECK_LENGTH; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

/** A random key id: base62, uniform (rejection-free via randomInt). */
export function newKeyId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += BASE62[randomInt(62)];
  return id;
}

export function newSecret(): string {
  return toBase62(randomBytes(32), SECRET_LENGTH);
}

export function keyPrefix(environment: Environment, id: string): string {
  return `sk_${ENV_TOKEN_CODES[environment]}_${id}`;
}

export function formatToken(environment: Environment, id: string, secret: string): string {
  const body = `${keyPrefix(environment, id)}_${secret}`;
  return body + checksum(body);
}

/** Returns the token's parts, or `undefined` when its shape or checksum is wrong. Never throws. */
export function parseToken(token: string): ParsedToken | undefined {
  const m = TOKEN_PATTERN.exec(token);
  if (!m) return undefined;
  const [, code, id, secret, check] = m as unknown as [string, string, string, string, string];
  if (checksum(token.slice(0, token.length - CHECK_LENGTH)) !== check) return undefined;
  const environment = ENV_BY_CODE.get(code);
  if (!environment) return undefined;
  return { environment, id, secret, prefix: keyPrefix(environment, id) };
}

/** Ids that cannot exist are "not found", like unknown ones: the caller learns nothing more. */
export function isKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id);
}
