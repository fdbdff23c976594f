import { describe, expect, it } from "vitest";
import { chooseVpcCidr, cidrsOverlap, parseCidr, subnetCidrs, vpcCidrCandidates } from "./cidr.js";

describe("chooseVpcCidr", () => {
  it("takes 172.31/16 in an empty region", () => {
    expect(chooseVpcCidr([])).toBe("172.31.0.0/16");
  });

  it("skips every block an existing VPC overlaps, whatever its size", () => {
    expect(chooseVpcCidr(["172.31.0.0/16"])).toBe("10.0.0.0/16");
    expect(chooseVpcCidr(["172.16.0.0/12", "10.0.0.0/8"])).toBe("192.168.0.0/16");
    expect(chooseVpcCidr(["172.31.128.0/24", "10.0.5.0/24", "10.1.0.0/16"])).toBe("10.2.0.0/16");
  });

  it("ignores IPv6 and malformed blocks", () => {
    expect(chooseVpcCidr(["2600:1f18::/56", "nonsense"])).toBe("172.31.0.0/16");
  });

  it("says what to do when every private /16 is taken", () => {
    expect(() => chooseVpcCidr(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"])).toThrow(/every private \/16 block overlaps/);
  });

  it("offers only /16 blocks of the private ranges", () => {
    for (const c of vpcCidrCandidates()) expect(c).toMatch(/^(10\.\d+|172\.(1[6-9]|2\d|3[01])|192\.168)\.0\.0\/16$/);
  });
});

describe("CIDR arithmetic", () => {
  it("normalises a block to its network", () => {
    expect(parseCidr("10.0.1.7/16")).toEqual(parseCidr("10.0.0.0/16"));
  });

  it("detects overlap both ways and adjacency as none", () => {
    expect(cidrsOverlap("10.0.0.0/16", "10.0.200.0/24")).toBe(true);
    expect(cidrsOverlap("10.0.200.0/24", "10.0.0.0/16")).toBe(true);
    expect(cidrsOverlap("10.0.0.0/16", "10.1.0.0/16")).toBe(false);
  });

  it("rejects what is not an IPv4 block", () => {
    expect(() => parseCidr("10.0.0.256/16")).toThrow(/not an IPv4 CIDR/);
    expect(() => parseCidr("10.0.0.0/33")).toThrow(/not an IPv4 CIDR/);
  });

  it("splits a /16 into consecutive /20 subnets", () => {
    expect(subnetCidrs("10.3.0.0/16", 3)).toEqual(["10.3.0.0/20", "10.3.16.0/20", "10.3.32.0/20"]);
    expect(() => subnetCidrs("10.3.0.0/20", 2)).toThrow(/no room/);
  });
});
