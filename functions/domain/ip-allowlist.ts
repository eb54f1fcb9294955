/**
 * IP allowlists (IPv4 and IPv6 CIDRs) as admins write them: validated and normalised via ipaddr.js.
 * Matching a request's address is `ip-match.ts`, without ipaddr.js (the authorizer's bundle). Pure.
 */
import ipaddr from 'ipaddr.js';

/**
 * Strict parsing: IPv4 only in four-part decimal, because ipaddr.js (like inet_aton) would read
 * `010.0.0.1` as octal 8.0.0.1 and `1.2.3` as 1.2.0.3, an allowlist nobody meant to write.
 */
function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes('.') || text.includes(':')) {
    if (ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  }
  throw new Error(`not an IP address: ${text}`);
}

/**
 * `10.0.0.0/8` stays; host bits are cleared (`10.1.2.3/8` is stored as `10.0.0.0/8`, the range it
 * really allows); a bare address becomes a single-host range. Throws on anything else.
 */
export function normalizeCidr(value: string): string {
  const text = value.trim();
  const [addrText = '', bitsText, ...rest] = text.split('/');
  const addr = parseAddress(addrText);
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  if (rest.length) throw new Error(`not a CIDR: ${text}`);
  if (bitsText === undefined) return `${addr.toString()}/${max}`;
  if (!/^\d{1,3}$/.test(bitsText) || Number(bitsText) > max) throw new Error(`bad prefix length: ${text}`);
  const bits = Number(bitsText);
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${bits}`);
  return `${network.toString()}/${bits}`;
}

export function isValidCidr(value: string): boolean {
  try {
    normalizeCidr(value);
    return true;
  } catch {
    return false;
  }
}
