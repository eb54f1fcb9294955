/**
 * Secret hashing (docs/keys.md). The secret is 256 random bits, so a fast SHA-256 is enough: there is
 * nothing to guess, and a slow hash (bcrypt) would cost tens of milliseconds on every request.
 */
import * as crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string, outputEncoding: 'hex') => string;
// `crypto.hash` (Node ≥ 20.12, the Lambda runtime's 22 included) is a one-shot digest several times
// faster than createHash for short inputs; the fallback gives the same digest.
const oneShot = (crypto as unknown as { hash?: OneShotHash }).hash;
const sha256Hex: (data: string) => string = oneShot
  ? (data) => oneShot('sha256', data, 'hex')
  : (data) => crypto.createHash('sha256').update(data, 'utf8').digest('hex');

const DIGEST_HEX_LENGTH = 64;

export function hashSecret(secret: string): string {
  return sha256Hex(secret);
}

/**
 * Constant-time comparison of a presented secret with a stored hex digest: every character is
 * compared, with no early exit, so the time does not depend on where the two differ. A stored value
 * that is not a 64-character digest never matches (its hex digits could never all equal a digest's).
 */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  if (storedHash?.length !== DIGEST_HEX_LENGTH) return false;
  const presented = sha256Hex(secret);
  let diff = 0;
  for (let i = 0; i < DIGEST_HEX_LENGTH; i++) diff |= presented.charCodeAt(i) ^ storedHash.charCodeAt(i);
  return diff === 0;
}
