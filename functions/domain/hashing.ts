/**
 * Secret hashing (docs/keys.md). The secret is 256 random bits, so a fast SHA-256 is enough: there is
 * nothing to guess, and a slow hash (bcrypt) would cost tens of milliseconds on every request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hex digest. */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  if (!storedHash || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  const presented = createHash('sha256').update(secret, 'utf8').digest();
  return timingSafeEqual(presented, Buffer.from(storedHash, 'hex'));
}
