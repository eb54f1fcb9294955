/**
 * Whether a request's source IP lies in a key's allowlist (docs/authorizer.md), on every request
 * of a key that has one. Written out rather than through ipaddr.js, which stays with the management
 * side (`ip-allowlist.ts`: validating and normalising ranges), so the authorizer's bundle does not
 * carry it. Pure.
 *
 * Same rules as before: an IPv4-mapped IPv6 source (`::ffff:1.2.3.4`) counts as IPv4, a range only
 * matches addresses of its own family, a range that does not parse grants nothing, and host bits
 * in a range are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
 */

const V4_PART = /^(0|[1-9]\d{0,2})$/;

/** Strict four-part decimal, as API Gateway writes source IPs; anything else: undefined. */
function parseV4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const p of parts) {
    if (!V4_PART.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 text forms: `::` once at most, an IPv4 tail allowed; 16 bytes, or undefined. */
function parseV6(text: string): number[] | undefined {
  if (!text.includes(':')) return undefined;
  let tail: number[] = [];
  let body = text;
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = [(v4[0] as number) * 256 + (v4[1] as number), (v4[2] as number) * 256 + (v4[3] as number)];
    body = text.slice(0, lastColon + 1);
    // `::1.2.3.4` leaves `::`; `a::b:1.2.3.4` leaves `a::b:`.
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const rest = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  for (const g of [...head, ...rest]) if (!V6_GROUP.test(g)) return undefined;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const groups = [
    ...head.map((g) => Number.parseInt(g, 16)),
    ...new Array<number>(8 - given).fill(0),
    ...rest.map((g) => Number.parseInt(g, 16)),
    ...tail,
  ];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** A source address: IPv4 bytes (also for IPv4-mapped IPv6), else IPv6 bytes. */
function parseSource(text: string): number[] | undefined {
  const v4 = parseV4(text);
  if (v4) return v4;
  const v6 = parseV6(text);
  if (!v6) return undefined;
  const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
  return mapped ? v6.slice(12) : v6;
}

function inRange(addr: readonly number[], range: readonly number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((addr[i] as number) & mask) !== ((range[i] as number) & mask)) return false;
  }
  return true;
}

/** Whether `ip` lies in any of `cidrs`. */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  const addr = parseSource(ip);
  if (!addr) return false;
  for (const cidr of cidrs) {
    const slash = cidr.indexOf('/');
    if (slash < 0) continue;
    const bitsText = cidr.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText)) continue;
    const rangeText = cidr.slice(0, slash);
    const range = parseV4(rangeText) ?? parseV6(rangeText);
    const bits = Number(bitsText);
    if (!range || range.length !== addr.length || bits > range.length * 8) continue;
    if (inRange(addr, range, bits)) return true;
  }
  return false;
}
