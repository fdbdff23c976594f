import { describe, expect, it } from "vitest";
import { decodeEcrToken, ecrRegion, isEcrRegistry } from "./ecr.js";

describe("ECR registry hosts", () => {
  it.each([
    ["123456789012.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1"],
    ["123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"],
    ["123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"],
  ])("%s is in %s", (host, region) => {
    expect(isEcrRegistry(host)).toBe(true);
    expect(ecrRegion(host)).toBe(region);
  });

  it.each(["127.0.0.1:5000", "ghcr.io", "12345.dkr.ecr.eu-west-1.amazonaws.com", "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example"])("%s is not ECR", (host) => {
    expect(isEcrRegistry(host)).toBe(false);
    expect(ecrRegion(host)).toBeNull();
  });
});

describe("decodeEcrToken", () => {
  it("splits AWS:<password> at the first colon", () => {
    expect(decodeEcrToken(Buffer.from("AWS:pa:ss").toString("base64"))).toEqual({ username: "AWS", password: "pa:ss" });
  });

  it("refuses a token that is not user:password", () => {
    expect(() => decodeEcrToken(Buffer.from("nocolon").toString("base64"))).toThrow(/not 'user:password'/);
  });
});
