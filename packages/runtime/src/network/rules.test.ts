import { describe, expect, it } from "vitest";
import { renderHosts, renderResolvConf } from "./resolv.js";
import { chainNames, renderRules } from "./rules.js";

describe("renderRules", () => {
  it("replaces our chains whole, one DNAT rule per published port", () => {
    const text = renderRules(chainNames("SHOAL"), "shoal0", "10.88.1.0/24", [
      {
        containerId: "c2",
        ip: "10.88.1.3",
        netns: "n2",
        hostVeth: "v2",
        ports: [{ protocol: "udp", targetPort: 53, publishedPort: 5353 }],
      },
      {
        containerId: "c1",
        ip: "10.88.1.2",
        netns: "n1",
        hostVeth: "v1",
        ports: [{ protocol: "tcp", targetPort: 80, publishedPort: 8080 }],
      },
    ]);
    expect(text).toBe(
      [
        "*nat",
        ":SHOAL-POSTROUTING - [0:0]",
        ":SHOAL-DNAT - [0:0]",
        "-A SHOAL-POSTROUTING -s 10.88.1.0/24 ! -o shoal0 -j MASQUERADE",
        "-A SHOAL-POSTROUTING -s 10.88.1.0/24 -o shoal0 -m conntrack --ctstate DNAT -j MASQUERADE",
        "-A SHOAL-DNAT -p tcp -m tcp --dport 8080 -m comment --comment c1 -j DNAT --to-destination 10.88.1.2:80",
        "-A SHOAL-DNAT -p udp -m udp --dport 5353 -m comment --comment c2 -j DNAT --to-destination 10.88.1.3:53",
        "COMMIT",
        "*filter",
        ":SHOAL-FORWARD - [0:0]",
        "-A SHOAL-FORWARD -i shoal0 -j ACCEPT",
        "-A SHOAL-FORWARD -o shoal0 -m conntrack --ctstate RELATED,ESTABLISHED,DNAT -j ACCEPT",
        "-A SHOAL-FORWARD -o shoal0 -j DROP",
        "COMMIT",
        "",
      ].join("\n"),
    );
  });
});

describe("resolv.conf and hosts", () => {
  const host =
    "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\noptions edns0\n";

  it("takes the host's settings without loopback resolvers", () => {
    expect(renderResolvConf(host)).toBe("nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n");
  });

  it("lets the spec override each part", () => {
    expect(renderResolvConf(host, { nameservers: ["10.1.1.1"], search: [] })).toBe(
      "nameserver 10.1.1.1\noptions edns0\n",
    );
  });

  it("falls back to the stub resolver's upstream servers when the host lists only loopback", () => {
    const stub = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n";
    const upstream = "nameserver 10.0.0.1\nnameserver 127.0.0.1\nsearch lan\n";
    expect(renderResolvConf(stub, {}, upstream)).toBe(
      "nameserver 10.0.0.1\nsearch lan\noptions edns0 trust-ad\n",
    );
    expect(renderResolvConf(stub, { nameservers: [] }, upstream)).toBe(
      "search lan\noptions edns0 trust-ad\n",
    );
  });

  it("writes the container's own name and extra hosts", () => {
    const hosts = renderHosts("web-1", "10.88.1.2", ["db:10.0.0.9", "cache=10.0.0.10"]);
    expect(hosts).toContain("127.0.0.1\tlocalhost\n");
    expect(hosts).toContain("10.88.1.2\tweb-1\n");
    expect(hosts).toContain("10.0.0.9\tdb\n");
    expect(hosts).toContain("10.0.0.10\tcache\n");
  });
});
