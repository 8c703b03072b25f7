import { describe, expect, it } from "vitest";
import { balance, overlayChains, renderContainerRules, renderNodeRules } from "./overlay-rules.js";

describe("balance", () => {
  it("picks each of n targets with probability 1/n: 1/(n-i) for the i-th, the last always", () => {
    const rules = balance("-A X -d 10.0.0.9/32", ["10.0.0.2", "10.0.0.3", "10.0.0.4"], "svc");
    expect(rules).toEqual([
      "-A X -d 10.0.0.9/32 -m comment --comment svc -m statistic --mode random --probability 0.33333333 -j DNAT --to-destination 10.0.0.2",
      "-A X -d 10.0.0.9/32 -m comment --comment svc -m statistic --mode random --probability 0.50000000 -j DNAT --to-destination 10.0.0.3",
      "-A X -d 10.0.0.9/32 -m comment --comment svc -j DNAT --to-destination 10.0.0.4",
    ]);
  });
});

describe("renderNodeRules", () => {
  const c = overlayChains("SHOAL");
  it("isolates networks, keeps internal ones in, and marks mesh connections by their node", () => {
    const text = renderNodeRules(
      c,
      "svb+",
      [
        { bridge: "svbfront", subnet: "10.0.1.0/24", internal: false },
        { bridge: "svbback", subnet: "10.0.2.0/24", internal: true },
        {
          bridge: "svbing",
          subnet: "10.0.0.0/24",
          internal: false,
          meshPeers: [{ mac: "02:42:0a:00:00:03", mark: 0x30000 }],
        },
      ],
      [{ protocol: "tcp", publishedPort: 8080, backends: ["10.0.0.5:80"], service: "s1" }],
    );
    expect(text).toContain("-A SHOAL-OV-FWD -i svbfront -o svb+ -j DROP");
    expect(text).toContain("-A SHOAL-OV-FWD -i svbback -j DROP");
    expect(text).not.toContain("-s 10.0.2.0/24 ! -o svbback -j MASQUERADE");
    expect(text).toContain("-A SHOAL-OV-POST -s 10.0.1.0/24 ! -o svbfront -j MASQUERADE");
    expect(text).toContain(
      "-A SHOAL-OV-MARK -i svbing -m conntrack --ctstate NEW -m mac --mac-source 02:42:0a:00:00:03 -j CONNMARK --set-xmark 0x30000/0xffff0000",
    );
    expect(text).toContain(
      "-A SHOAL-OV-ING -p tcp -m tcp --dport 8080 -m comment --comment s1 -j DNAT --to-destination 10.0.0.5:80",
    );
  });
});

describe("renderContainerRules", () => {
  it("refuses a VIP without backends instead of letting it hang", () => {
    const text = renderContainerRules(overlayChains("SHOAL"), [
      { vip: "10.0.1.100", backends: [], service: "s" },
    ]);
    expect(text).toContain("-A SHOAL-VIPF -d 10.0.1.100/32 -p tcp -j REJECT --reject-with tcp-reset");
    expect(text).not.toContain("DNAT");
  });
});
