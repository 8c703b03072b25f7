import { isIP } from "node:net";

/**
 * Minimal IPv4/IPv6 address and CIDR parsing for `node.ip` constraints. Addresses are normalized to
 * 16 bytes (IPv4 as IPv4-mapped IPv6) so that `10.0.0.1` and `::ffff:10.0.0.1` are the same node.
 */

function parseIpv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^\d{1,3}$/.test(p)) return false;
    const v = Number(p);
    if (v > 255) return false;
    out[offset + i] = v;
  }
  return true;
}

/**
 * Parses an IPv4 or IPv6 address to 16 bytes, or undefined when it is not one. Which texts are
 * addresses is Node's decision (as in @shoal/proto's validation, so both accept the same `node.ip`
 * values), minus zone ids, which name an interface of one host; this function only converts.
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (text.includes("%") || isIP(text) === 0) return undefined;
  const out = new Uint8Array(16);
  if (!text.includes(":")) {
    out[10] = 0xff;
    out[11] = 0xff;
    return parseIpv4Into(text, out, 12) ? out : undefined;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const words: number[] = [];
  const pushAll = (list: string[], isLast: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (isLast && i === list.length - 1 && g.includes(".")) {
        const v4 = new Uint8Array(4);
        if (!parseIpv4Into(g, v4, 0)) return false;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return false;
      words.push(Number.parseInt(g, 16));
    }
    return true;
  };
  if (!pushAll(head, halves.length === 1)) return undefined;
  const headWords = words.length;
  if (!pushAll(tail, true)) return undefined;
  const tailWords = words.length - headWords;
  if (halves.length === 1 ? words.length !== 8 : words.length > 7) return undefined;
  const all = new Array<number>(8).fill(0);
  for (let i = 0; i < headWords; i++) all[i] = words[i];
  for (let i = 0; i < tailWords; i++) all[8 - tailWords + i] = words[headWords + i];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = all[i] >> 8;
    out[2 * i + 1] = all[i] & 0xff;
  }
  return out;
}

/** Strips a trailing ":port" (and IPv6 brackets) from a node address. */
export function hostOfAddr(addr: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  if (bracketed) return bracketed[1];
  const colon = addr.indexOf(":");
  if (colon >= 0 && colon === addr.lastIndexOf(":")) return addr.slice(0, colon);
  return addr;
}

export interface Cidr {
  network: Uint8Array;
  /** Prefix length over the 16-byte form (IPv4 prefixes are offset by 96). */
  prefixBits: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (ip === undefined || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const isV4 = !text.slice(0, slash).includes(":");
  const bits = Number(bitsText);
  if (bits > (isV4 ? 32 : 128)) return undefined;
  return { network: ip, prefixBits: isV4 ? bits + 96 : bits };
}

export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  let bits = cidr.prefixBits;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (cidr.network[i] & mask)) return false;
  }
  return true;
}

export function ipEquals(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}
