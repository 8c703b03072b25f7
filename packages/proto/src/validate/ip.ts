import { isIP } from "node:net";

/**
 * 4 or 6 for an IPv4/IPv6 address, 0 otherwise. Node's parser (Go's rules: no leading zeros in
 * IPv4, `::ffff:1.2.3.4` allowed), minus zone ids (`fe80::1%eth0`): a zone names an interface of
 * one host and means nothing in a cluster-wide spec. The scheduler accepts exactly these addresses
 * for `node.ip` (its table test runs this parser and its own on the same inputs).
 */
export function ipVersion(text: string): 0 | 4 | 6 {
  if (text.includes("%")) return 0;
  return isIP(text) as 0 | 4 | 6;
}

/** "10.0.1.0/24" style IPv4 or IPv6 CIDR. */
export function isCidr(text: string): boolean {
  const slash = text.indexOf("/");
  if (slash < 0) return false;
  const prefix = text.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefix)) return false;
  const version = ipVersion(text.slice(0, slash));
  return version !== 0 && Number(prefix) <= (version === 4 ? 32 : 128);
}
