import { describe, expect, it } from "vitest";
import { applyFirewallRules, describeFirewallRules, removeFirewallRules, runnerFirewallRules, type IptablesRunner } from "./docker-firewall.js";

describe("runnerFirewallRules", () => {
  it("lets runs reach the API ports, drops the host's other ports, and drops the metadata range on the way out", () => {
    const rules = runnerFirewallRules("br-0123456789ab", [4200]);
    expect(rules.map((r) => [r.chain, r.spec.join(" ")])).toEqual([
      ["INPUT", "-i br-0123456789ab -p tcp --dport 4200 -m comment --comment ferry: runs reach the API -j ACCEPT"],
      ["INPUT", "-i br-0123456789ab -m conntrack --ctstate ESTABLISHED,RELATED -m comment --comment ferry: answers to the host -j ACCEPT"],
      ["INPUT", "-i br-0123456789ab -m comment --comment ferry: runs reach no other host port -j DROP"],
      ["DOCKER-USER", "-i br-0123456789ab -d 169.254.0.0/16 -m comment --comment ferry: runs reach no metadata service -j DROP"],
    ]);
  });

  it("rejects what is not an interface name or a port", () => {
    expect(() => runnerFirewallRules("br-x; rm -rf /", [4200])).toThrow(/interface/);
    expect(() => runnerFirewallRules("br-x", [0])).toThrow(/port/);
    expect(() => runnerFirewallRules("br-x", [])).toThrow(/port/);
  });

  it("prints commands an operator can run, each adding its rule when missing, in the order that keeps the DROP last", () => {
    const lines = describeFirewallRules(runnerFirewallRules("br-x", [4200]));
    expect(lines[0]).toBe("iptables -t filter -C DOCKER-USER -i br-x -d 169.254.0.0/16 -m comment --comment 'ferry: runs reach no metadata service' -j DROP 2>/dev/null || iptables -t filter -I DOCKER-USER 1 -i br-x -d 169.254.0.0/16 -m comment --comment 'ferry: runs reach no metadata service' -j DROP");
    expect(lines.at(-1)).toContain("-I INPUT 1 -i br-x -p tcp --dport 4200");
  });
});

describe("applyFirewallRules", () => {
  /** A fake iptables holding chains as lists of rule texts. */
  const fakeIptables = (fail?: string) => {
    const chains: Record<string, string[]> = { INPUT: [], "DOCKER-USER": ["-j RETURN"] };
    const run: IptablesRunner = async (args) => {
      const [, , op, chain, ...rest] = args as [string, string, string, string, ...string[]];
      const list = (chains[chain] ??= []);
      if (op === "-C") return { code: list.includes(rest.join(" ")) ? 0 : 1, stderr: "" };
      if (op === "-D") {
        list.splice(list.indexOf(rest.join(" ")), 1);
        return { code: 0, stderr: "" };
      }
      if (fail && rest.join(" ").includes(fail)) return { code: 4, stderr: "iptables v1.8.9: can't initialize iptables table `filter': Permission denied (you must be root)" };
      list.unshift(rest.slice(1).join(" "));
      return { code: 0, stderr: "" };
    };
    return { chains, run };
  };

  it("inserts the missing rules so that each chain reads top down as given, and adds only a new port on a second start", async () => {
    const { chains, run } = fakeIptables();
    expect(await applyFirewallRules(runnerFirewallRules("br-x", [4200]), run)).toBe(4);
    expect(chains.INPUT!.map((r) => r.split(" -m comment")[0])).toEqual(["-i br-x -p tcp --dport 4200", "-i br-x -m conntrack --ctstate ESTABLISHED,RELATED", "-i br-x"]);
    expect(chains["DOCKER-USER"]!.at(-1)).toBe("-j RETURN");
    expect(await applyFirewallRules(runnerFirewallRules("br-x", [4200]), run)).toBe(0);
    expect(await applyFirewallRules(runnerFirewallRules("br-x", [4300]), run)).toBe(1);
    expect(chains.INPUT!.at(-1)).toMatch(/-j DROP$/);
    expect(chains.INPUT![0]).toContain("--dport 4300");
    expect(await removeFirewallRules([...runnerFirewallRules("br-x", [4200]), ...runnerFirewallRules("br-x", [4300])], run)).toBe(5);
    expect(chains).toEqual({ INPUT: [], "DOCKER-USER": ["-j RETURN"] });
  });

  it("says what to do when iptables refuses", async () => {
    const { run } = fakeIptables("DROP");
    await expect(applyFirewallRules(runnerFirewallRules("br-x", [4200]), run)).rejects.toMatchObject({
      code: "unavailable",
      message: expect.stringMatching(/Permission denied.*needs root and iptables.*set it to none/),
    });
  });
});
