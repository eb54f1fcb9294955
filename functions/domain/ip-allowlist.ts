/** IP allowlists (IPv4 and IPv6 CIDRs) via ipaddr.js. Pure. */
import ipaddr from 'ipaddr.js';

/** `10.0.0.0/8` stays; a bare address becomes a single-host range. Throws on anything else. */
export function normalizeCidr(value: string): string {
  const text = value.trim();
  if (text.includes('/')) {
    const [addr, bits] = ipaddr.parseCIDR(text);
    return `${addr.toString()}/${bits}`;
  }
  const addr = ipaddr.parse(text);
  return `${addr.toString()}/${addr.kind() === 'ipv4' ? 32 : 128}`;
}

export function isValidCidr(value: string): boolean {
  try {
    normalizeCidr(value);
    return true;
  } catch {
    return false;
  }
}

/** Whether `ip` lies in any range. IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) count as IPv4. */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  for (const cidr of cidrs) {
    try {
      const [range, bits] = ipaddr.parseCIDR(cidr);
      if (range.kind() === addr.kind() && addr.match([range, bits] as never)) return true;
    } catch {
      // A stored range that no longer parses grants nothing.
    }
  }
  return false;
}
