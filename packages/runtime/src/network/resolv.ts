/** DNS settings of a container, as in the service spec's dns_config. */
export interface DnsConfig {
  nameservers?: readonly string[];
  search?: readonly string[];
  options?: readonly string[];
}

/**
 * A container's /etc/resolv.conf: the spec's settings where given, else the host's, minus
 * loopback nameservers (they would point into the container itself), else the upstream servers of
 * the host's stub resolver; Docker's fallback to public resolvers is deliberately absent — a node
 * without usable DNS gets none rather than a surprise.
 */
export function renderResolvConf(
  hostResolvConf: string,
  dns: DnsConfig = {},
  upstreamResolvConf = "",
): string {
  const host = parseResolvConf(hostResolvConf);
  const isLoopback = (ns: string) => /^127\.|^::1$/.test(ns);
  let nameservers = (dns.nameservers ?? host.nameservers).filter((ns) => !isLoopback(ns));
  if (nameservers.length === 0 && dns.nameservers === undefined) {
    // A host behind a local stub resolver (systemd-resolved's 127.0.0.53) lists only loopback;
    // the stub's own upstream servers (/run/systemd/resolve/resolv.conf) are what containers need.
    nameservers = parseResolvConf(upstreamResolvConf).nameservers.filter((ns) => !isLoopback(ns));
  }
  const search = dns.search ?? host.search;
  const options = dns.options ?? host.options;
  const lines = nameservers.map((ns) => `nameserver ${ns}`);
  if (search.length > 0) lines.push(`search ${search.join(" ")}`);
  if (options.length > 0) lines.push(`options ${options.join(" ")}`);
  return `${lines.join("\n")}\n`;
}

function parseResolvConf(text: string): { nameservers: string[]; search: string[]; options: string[] } {
  const out = { nameservers: [] as string[], search: [] as string[], options: [] as string[] };
  for (const raw of text.split("\n")) {
    const [key, ...values] = raw
      .replace(/[#;].*/, "")
      .trim()
      .split(/\s+/);
    if (key === "nameserver" && values[0] !== undefined) out.nameservers.push(values[0]);
    else if (key === "search" || key === "domain") out.search = values;
    else if (key === "options") out.options.push(...values);
  }
  return out;
}

/** A container's /etc/hosts: loopback, its own name on its address, and extra entries. */
export function renderHosts(
  hostname: string,
  ip: string | undefined,
  extraHosts: readonly string[] = [],
): string {
  const lines = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
  ];
  if (ip !== undefined && ip !== "") lines.push(`${ip}\t${hostname}`);
  for (const entry of extraHosts) {
    // Compose writes "name:ip" (or "name=ip"); /etc/hosts wants "ip name".
    const m = /^([^:=\s]+)[:=](.+)$/.exec(entry.trim());
    if (m !== null) lines.push(`${m[2]}\t${m[1]}`);
  }
  return `${lines.join("\n")}\n`;
}
