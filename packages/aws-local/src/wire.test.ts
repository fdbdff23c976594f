import { describe, expect, it } from "vitest";
import { AwsError } from "./aws-error.js";
import { cidrContains, cidrOverlaps, parseCidr } from "./cidr.js";
import { applyFilters } from "./filters.js";
import { encodeEc2Error, encodeEc2Result, encodeJsonError, encodeQueryError, encodeQueryResult } from "./protocols.js";
import { parseQueryBody, QueryInput } from "./query-input.js";
import { parseSigV4Authorization } from "./sigv4.js";
import { writeXml } from "./xml.js";

describe("parseSigV4Authorization", () => {
  it("reads the key, region and service of the credential scope", () => {
    const header = "AWS4-HMAC-SHA256 Credential=AKIAFERRYLOCALROOT/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc";
    expect(parseSigV4Authorization(header)).toEqual({ accessKeyId: "AKIAFERRYLOCALROOT", region: "eu-west-1", service: "ecs" });
  });

  it("is null for a missing or non-SigV4 header", () => {
    expect(parseSigV4Authorization(undefined)).toBeNull();
    expect(parseSigV4Authorization("Bearer x")).toBeNull();
    expect(parseSigV4Authorization("AWS4-HMAC-SHA256 SignedHeaders=host")).toBeNull();
  });
});

describe("parseQueryBody", () => {
  it("makes EC2's flattened lists and the query protocol's member lists into trees", () => {
    const tree = parseQueryBody("Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3Aferry&Filter.1.Value.1=a&Filter.1.Value.2=b&Filter.2.Name=vpc-id&Filter.2.Value.1=vpc-1&Tags.member.1.Key=k&Tags.member.1.Value=v");
    expect(tree).toEqual({ Filter: [{ Name: "tag:ferry", Value: ["a", "b"] }, { Name: "vpc-id", Value: ["vpc-1"] }], Tags: { member: [{ Key: "k", Value: "v" }] } });
    const input = QueryInput.of(tree, (name) => new AwsError("MissingParameter", name));
    expect(input.objects("Filter").map((f) => f.strings("Value"))).toEqual([["a", "b"], ["vpc-1"]]);
    expect(input.objects("Tags").map((t) => t.string("Key"))).toEqual(["k"]);
    expect(() => input.required("VpcId")).toThrow(expect.objectContaining({ code: "MissingParameter", message: "VpcId" }));
  });

  it("keeps list order by index, not by arrival", () => {
    expect(parseQueryBody("VpcId.2=b&VpcId.1=a")).toEqual({ VpcId: ["a", "b"] });
  });
});

describe("XML encoding", () => {
  it("writes member lists for the query protocol and item lists for EC2, escaping text and leaving out absent values", () => {
    expect(writeXml({ A: "x<y", B: undefined, L: [{ K: 1 }, { K: true }], E: [] }, "member")).toBe("<A>x&lt;y</A><L><member><K>1</K></member><member><K>true</K></member></L><E/>");
    expect(writeXml({ vpcSet: [{ vpcId: "vpc-1" }] }, "item")).toBe("<vpcSet><item><vpcId>vpc-1</vpcId></item></vpcSet>");
  });

  it("wraps query results in <OpResult> and EC2 results directly in <OpResponse>", () => {
    expect(encodeQueryResult("GetRole", "ns", { Role: { RoleName: "r" } }, "rid").body).toContain('<GetRoleResponse xmlns="ns"><GetRoleResult><Role><RoleName>r</RoleName></Role></GetRoleResult><ResponseMetadata><RequestId>rid</RequestId>');
    expect(encodeEc2Result("CreateVpc", "ns", { vpc: { vpcId: "v" } }, "rid").body).toContain('<CreateVpcResponse xmlns="ns"><requestId>rid</requestId><vpc><vpcId>v</vpcId></vpc></CreateVpcResponse>');
  });

  it("encodes errors in each protocol's shape with the error's status", () => {
    const error = new AwsError("NoSuchEntity", "The role with name r cannot be found.", 404);
    const query = encodeQueryError(error, "rid");
    expect(query.status).toBe(404);
    expect(query.body).toContain("<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name r cannot be found.</Message></Error><RequestId>rid</RequestId></ErrorResponse>");
    expect(encodeEc2Error(new AwsError("InvalidVpcID.NotFound", "m"), "rid").body).toContain("<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>m</Message></Error></Errors><RequestID>rid</RequestID></Response>");
    const json = encodeJsonError(new AwsError("ClientException", "m"), "rid");
    expect(JSON.parse(json.body)).toEqual({ __type: "ClientException", message: "m" });
    expect(json.headers["content-type"]).toBe("application/x-amz-json-1.1");
  });
});

describe("CIDR blocks and filters", () => {
  it("compares CIDR ranges", () => {
    const vpc = parseCidr("10.0.0.0/16")!;
    expect(cidrContains(vpc, parseCidr("10.0.1.0/24")!)).toBe(true);
    expect(cidrContains(vpc, parseCidr("10.1.0.0/24")!)).toBe(false);
    expect(cidrOverlaps(parseCidr("10.0.1.0/24")!, parseCidr("10.0.1.128/25")!)).toBe(true);
    expect(parseCidr("10.0.0.300/16")).toBeNull();
  });

  it("matches every filter, any of its values, with wildcards and tag filters", () => {
    const items: { id: string; tags: Record<string, string> }[] = [
      { id: "a", tags: { ferry: "pool-1" } },
      { id: "b", tags: { ferry: "pool-2" } },
      { id: "c", tags: {} },
    ];
    const byId = (i: { id: string }, name: string) => (name === "id" ? [i.id] : undefined);
    expect(applyFilters(items, [{ name: "tag:ferry", values: ["pool-*"] }], byId).map((i) => i.id)).toEqual(["a", "b"]);
    expect(applyFilters(items, [{ name: "tag-key", values: ["ferry"] }, { name: "id", values: ["b", "c"] }], byId).map((i) => i.id)).toEqual(["b"]);
    expect(() => applyFilters(items, [{ name: "bogus", values: ["x"] }], byId)).toThrow(expect.objectContaining({ code: "InvalidParameterValue" }));
  });
});
