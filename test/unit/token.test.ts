import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import {
  ENVIRONMENTS,
  formatToken,
  keyPrefix,
  newKeyId,
  newSecret,
  parseToken,
} from '../../functions/domain/token';

describe('token format', () => {
  it('round-trips every environment, id and secret', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ENVIRONMENTS), (environment) => {
        const id = newKeyId();
        const secret = newSecret();
        const token = formatToken(environment, id, secret);
        expect(token.startsWith(`${keyPrefix(environment, id)}_`)).toBe(true);
        expect(parseToken(token)).toEqual({ environment, id, secret, prefix: keyPrefix(environment, id) });
      }),
    );
  });

  it('rejects any single-character change (checksum)', () => {
    const token = formatToken('production', newKeyId(), newSecret());
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_';
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), (i, c) => {
        fc.pre(token[i] !== c);
        const mutated = token.slice(0, i) + c + token.slice(i + 1);
        expect(parseToken(mutated)).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('rejects arbitrary strings without throwing', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => expect(parseToken(s)).toBeUndefined()));
  });

  it('keeps the checksum of every token ever issued: CRC32 as 6 base62 digits, as the BigInt conversion gave', () => {
    const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const reference = (body: string) => {
      let n = BigInt(crc32(body) >>> 0);
      let out = '';
      while (n > 0n) {
        out = BASE62[Number(n % 62n)] + out;
        n /= 62n;
      }
      return out.padStart(6, '0');
    };
    fc.assert(
      fc.property(fc.constantFrom(...ENVIRONMENTS), (environment) => {
        const token = formatToken(environment, newKeyId(), newSecret());
        expect(token.slice(-6)).toBe(reference(token.slice(0, -6)));
      }),
      { numRuns: 2000 },
    );
  });

  it('uses the layout of docs/keys.md', () => {
    const token = formatToken('development', 'abcDEF012345', newSecret());
    expect(token).toMatch(/^sk_dev_abcDEF012345_[0-9A-Za-z]{43}[0-9A-Za-z]{6}$/);
  });

  it('makes distinct ids and secrets', () => {
    const ids = new Set(Array.from({ length: 1000 }, newKeyId));
    const secrets = new Set(Array.from({ length: 1000 }, newSecret));
    expect(ids.size).toBe(1000);
    expect(secrets.size).toBe(1000);
  });
});
