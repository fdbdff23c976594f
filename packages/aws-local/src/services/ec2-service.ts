import { AwsError } from "../aws-error.js";
import { cidrContains, cidrOverlaps, parseCidr } from "../cidr.js";
import { applyFilters, type Ec2Filter, type FilterValues } from "../filters.js";
import type { QueryInput } from "../query-input.js";
import type { QueryService, ServiceContext } from "../service.js";
import { ids, type Ec2State, type InternetGateway, type RouteTable, type SecurityGroup, type SecurityGroupRule, type Subnet, type Tags, type Vpc } from "../state.js";
import type { XmlObject } from "../xml.js";

const notFound = (code: string, message: string): AwsError => new AwsError(code, message);
const dependencyViolation = (message: string): AwsError => new AwsError("DependencyViolation", message);

/** The three zones of a region: `<region>a…c`, with zone ids like `use1-az1`. */
export function availabilityZones(region: string): { name: string; id: string }[] {
  const parts = region.split("-");
  const short = `${parts[0] ?? ""}${(parts[1] ?? "").charAt(0)}${parts[2] ?? ""}`;
  return ["a", "b", "c"].map((letter, i) => ({ name: `${region}${letter}`, id: `${short}-az${i + 1}` }));
}

/** The region's EC2 state, with its default VPC made on first use while the server says it has one. */
export function ec2State(ctx: Pick<ServiceContext, "state" | "region">): Ec2State {
  const ec2 = ctx.state.region(ctx.region).ec2;
  if (ctx.state.data.defaultVpc && !ec2.defaultVpcCreated) {
    ec2.defaultVpcCreated = true;
    createDefaultVpc(ec2, ctx.region);
  }
  return ec2;
}

function createDefaultVpc(ec2: Ec2State, region: string): void {
  const vpc = addVpc(ec2, "172.31.0.0/16", true, {});
  availabilityZones(region).forEach((zone, i) => {
    const id = ids.ec2("subnet");
    ec2.subnets[id] = { id, vpcId: vpc.id, cidrBlock: `172.31.${i * 16}.0/20`, availabilityZone: zone.name, mapPublicIpOnLaunch: true, defaultForAz: true, tags: {} };
  });
  const igw: InternetGateway = { id: ids.ec2("igw"), vpcId: vpc.id, tags: {} };
  ec2.internetGateways[igw.id] = igw;
  const main = Object.values(ec2.routeTables).find((t) => t.vpcId === vpc.id && t.main)!;
  main.routes.push({ destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id, origin: "CreateRoute" });
}

/** Removes every default VPC and what belongs to it; they come back on next use when the flag is set again. */
export function removeDefaultVpcs(ctx: Pick<ServiceContext, "state">): void {
  for (const region of Object.values(ctx.state.data.regions)) {
    const ec2 = region.ec2;
    for (const vpc of Object.values(ec2.vpcs).filter((v) => v.isDefault)) {
      for (const collection of [ec2.subnets, ec2.routeTables, ec2.securityGroups]) {
        for (const [id, r] of Object.entries(collection)) if (r.vpcId === vpc.id) delete collection[id];
      }
      for (const [id, igw] of Object.entries(ec2.internetGateways)) if (igw.vpcId === vpc.id) delete ec2.internetGateways[id];
      delete ec2.vpcs[vpc.id];
    }
    ec2.defaultVpcCreated = false;
  }
}

function addVpc(ec2: Ec2State, cidrBlock: string, isDefault: boolean, tags: Tags): Vpc {
  const vpc: Vpc = { id: ids.ec2("vpc"), cidrBlock, isDefault, instanceTenancy: "default", tags };
  ec2.vpcs[vpc.id] = vpc;
  const table: RouteTable = { id: ids.ec2("rtb"), vpcId: vpc.id, main: true, routes: [{ destinationCidrBlock: cidrBlock, gatewayId: "local", origin: "CreateRouteTable" }], associations: [], tags: {} };
  ec2.routeTables[table.id] = table;
  const group: SecurityGroup = { id: ids.ec2("sg"), name: "default", description: "default VPC security group", vpcId: vpc.id, rules: [], tags: {} };
  group.rules.push({ id: ids.ec2("sgr"), egress: false, ipProtocol: "-1", groupId: group.id }, { id: ids.ec2("sgr"), egress: true, ipProtocol: "-1", cidrIp: "0.0.0.0/0" });
  ec2.securityGroups[group.id] = group;
  return vpc;
}

export function getSubnet(ec2: Ec2State, id: string): Subnet {
  const subnet = ec2.subnets[id];
  if (subnet === undefined) throw notFound("InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`);
  return subnet;
}

function getVpc(ec2: Ec2State, id: string): Vpc {
  const vpc = ec2.vpcs[id];
  if (vpc === undefined) throw notFound("InvalidVpcID.NotFound", `The vpc ID '${id}' does not exist`);
  return vpc;
}

function getGateway(ec2: Ec2State, id: string): InternetGateway {
  const igw = ec2.internetGateways[id];
  if (igw === undefined) throw notFound("InvalidInternetGatewayID.NotFound", `The internetGateway ID '${id}' does not exist`);
  return igw;
}

function getRouteTable(ec2: Ec2State, id: string): RouteTable {
  const table = ec2.routeTables[id];
  if (table === undefined) throw notFound("InvalidRouteTableID.NotFound", `The routeTable ID '${id}' does not exist`);
  return table;
}

export function getSecurityGroup(ec2: Ec2State, id: string): SecurityGroup {
  const group = ec2.securityGroups[id];
  if (group === undefined) throw notFound("InvalidGroup.NotFound", `The security group '${id}' does not exist`);
  return group;
}

function filtersOf(input: QueryInput): Ec2Filter[] {
  return input.objects("Filter").map((f) => ({ name: f.required("Name"), values: f.strings("Value") }));
}

/** `TagSpecification.N` tags for the resource type being created. */
function tagsFor(input: QueryInput, resourceType: string): Tags {
  const tags: Tags = {};
  for (const spec of input.objects("TagSpecification")) {
    if (spec.string("ResourceType") !== undefined && spec.string("ResourceType") !== resourceType) continue;
    for (const tag of spec.objects("Tag")) tags[tag.required("Key")] = tag.string("Value") ?? "";
  }
  return tags;
}

function tagSet(tags: Tags): XmlObject[] {
  return Object.entries(tags).map(([key, value]) => ({ key, value }));
}

/** Describe* semantics: explicit ids must all exist, then filters narrow. */
function describe<T extends { id: string; tags: Tags }>(collection: Record<string, T>, requested: string[], missing: (id: string) => AwsError, filters: Ec2Filter[], valuesOf: FilterValues<T>): T[] {
  for (const id of requested) if (collection[id] === undefined) throw missing(id);
  const chosen = requested.length > 0 ? requested.map((id) => collection[id]!) : Object.values(collection);
  return applyFilters(chosen, filters, valuesOf);
}

function vpcXml(ctx: ServiceContext, vpc: Vpc, state = "available"): XmlObject {
  return {
    vpcId: vpc.id,
    ownerId: ctx.accountId,
    state,
    cidrBlock: vpc.cidrBlock,
    cidrBlockAssociationSet: [{ associationId: `vpc-cidr-assoc-${vpc.id.slice(4)}`, cidrBlock: vpc.cidrBlock, cidrBlockState: { state: "associated" } }],
    dhcpOptionsId: `dopt-${vpc.id.slice(4)}`,
    instanceTenancy: vpc.instanceTenancy,
    isDefault: vpc.isDefault,
    tagSet: tagSet(vpc.tags),
  };
}

function subnetXml(ctx: ServiceContext, subnet: Subnet): XmlObject {
  const zone = availabilityZones(ctx.region).find((z) => z.name === subnet.availabilityZone);
  const range = parseCidr(subnet.cidrBlock)!;
  return {
    subnetId: subnet.id,
    subnetArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:subnet/${subnet.id}`,
    state: "available",
    ownerId: ctx.accountId,
    vpcId: subnet.vpcId,
    cidrBlock: subnet.cidrBlock,
    availableIpAddressCount: 2 ** (32 - range.prefix) - 5,
    availabilityZone: subnet.availabilityZone,
    availabilityZoneId: zone?.id,
    defaultForAz: subnet.defaultForAz,
    mapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch,
    assignIpv6AddressOnCreation: false,
    tagSet: tagSet(subnet.tags),
  };
}

function gatewayXml(ctx: ServiceContext, igw: InternetGateway): XmlObject {
  return { internetGatewayId: igw.id, ownerId: ctx.accountId, attachmentSet: igw.vpcId === null ? [] : [{ vpcId: igw.vpcId, state: "available" }], tagSet: tagSet(igw.tags) };
}

function routeTableXml(ctx: ServiceContext, table: RouteTable): XmlObject {
  const associations: XmlObject[] = table.associations.map((a) => ({ main: false, routeTableAssociationId: a.id, routeTableId: table.id, subnetId: a.subnetId, associationState: { state: "associated" } }));
  if (table.main) associations.unshift({ main: true, routeTableAssociationId: `rtbassoc-${table.id.slice(4)}`, routeTableId: table.id, associationState: { state: "associated" } });
  return {
    routeTableId: table.id,
    vpcId: table.vpcId,
    ownerId: ctx.accountId,
    routeSet: table.routes.map((r) => ({ destinationCidrBlock: r.destinationCidrBlock, gatewayId: r.gatewayId, state: "active", origin: r.origin })),
    associationSet: associations,
    propagatingVgwSet: [],
    tagSet: tagSet(table.tags),
  };
}

/** EC2 groups rules that share protocol and ports into one permission with several peers. */
function permissionsXml(rules: SecurityGroupRule[], accountId: string, vpcId: string): XmlObject[] {
  const byKey = new Map<string, SecurityGroupRule[]>();
  for (const rule of rules) {
    const key = `${rule.ipProtocol}|${rule.fromPort ?? ""}|${rule.toPort ?? ""}`;
    byKey.set(key, [...(byKey.get(key) ?? []), rule]);
  }
  return [...byKey.values()].map((group) => ({
    ipProtocol: group[0]!.ipProtocol,
    fromPort: group[0]!.fromPort,
    toPort: group[0]!.toPort,
    groups: group.filter((r) => r.groupId !== undefined).map((r) => ({ groupId: r.groupId, userId: accountId, vpcId, description: r.description })),
    ipRanges: group.filter((r) => r.cidrIp !== undefined).map((r) => ({ cidrIp: r.cidrIp, description: r.description })),
    ipv6Ranges: [],
    prefixListIds: [],
  }));
}

function securityGroupXml(ctx: ServiceContext, group: SecurityGroup): XmlObject {
  return {
    ownerId: ctx.accountId,
    groupId: group.id,
    groupName: group.name,
    groupDescription: group.description,
    vpcId: group.vpcId,
    securityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:security-group/${group.id}`,
    ipPermissions: permissionsXml(group.rules.filter((r) => !r.egress), ctx.accountId, group.vpcId),
    ipPermissionsEgress: permissionsXml(group.rules.filter((r) => r.egress), ctx.accountId, group.vpcId),
    tagSet: tagSet(group.tags),
  };
}

function ruleXml(ctx: ServiceContext, group: SecurityGroup, rule: SecurityGroupRule): XmlObject {
  return {
    securityGroupRuleId: rule.id,
    groupId: group.id,
    groupOwnerId: ctx.accountId,
    isEgress: rule.egress,
    ipProtocol: rule.ipProtocol,
    fromPort: rule.fromPort ?? -1,
    toPort: rule.toPort ?? -1,
    cidrIpv4: rule.cidrIp,
    referencedGroupInfo: rule.groupId === undefined ? undefined : { groupId: rule.groupId, userId: ctx.accountId },
    description: rule.description,
  };
}

/** The rules an Authorize/Revoke call names: one per (permission, peer). */
function rulesOf(input: QueryInput, egress: boolean): Omit<SecurityGroupRule, "id">[] {
  const rules: Omit<SecurityGroupRule, "id">[] = [];
  const permissions = input.objects("IpPermissions");
  // The older flat form (IpProtocol, CidrIp, FromPort, ToPort) that ingress still accepts.
  if (permissions.length === 0 && input.string("IpProtocol") !== undefined) {
    return [{ egress, ...ports(input), cidrIp: input.string("CidrIp"), groupId: input.string("SourceSecurityGroupName") }];
  }
  for (const permission of permissions) {
    const base = { egress, ...ports(permission) };
    for (const range of permission.objects("IpRanges")) rules.push({ ...base, cidrIp: range.required("CidrIp"), description: range.string("Description") });
    for (const pair of permission.objects("Groups")) rules.push({ ...base, groupId: pair.required("GroupId"), description: pair.string("Description") });
  }
  if (rules.length === 0) throw new AwsError("InvalidParameterValue", "The request must contain the parameter ipPermissions");
  return rules;
}

function ports(input: QueryInput): Pick<SecurityGroupRule, "ipProtocol" | "fromPort" | "toPort"> {
  const protocol = input.required("IpProtocol").toLowerCase();
  const ipProtocol = protocol === "all" ? "-1" : protocol;
  if (ipProtocol === "-1") return { ipProtocol };
  return { ipProtocol, fromPort: input.integer("FromPort"), toPort: input.integer("ToPort") };
}

const sameRule = (a: Omit<SecurityGroupRule, "id">, b: Omit<SecurityGroupRule, "id">): boolean =>
  a.egress === b.egress && a.ipProtocol === b.ipProtocol && a.fromPort === b.fromPort && a.toPort === b.toPort && a.cidrIp === b.cidrIp && a.groupId === b.groupId;

function describeRule(rule: Omit<SecurityGroupRule, "id">): string {
  const protocol = rule.ipProtocol === "-1" ? "ALL" : rule.ipProtocol.toUpperCase();
  const portText = rule.ipProtocol === "-1" ? "" : `, from port: ${rule.fromPort}, to port: ${rule.toPort}`;
  return `peer: ${rule.cidrIp ?? rule.groupId}, ${protocol}${portText}, ALLOW`;
}

function authorize(ctx: ServiceContext, input: QueryInput, egress: boolean): XmlObject {
  const ec2 = ec2State(ctx);
  const group = getSecurityGroup(ec2, input.required("GroupId"));
  const added: SecurityGroupRule[] = [];
  for (const rule of rulesOf(input, egress)) {
    if (rule.groupId !== undefined) getSecurityGroup(ec2, rule.groupId);
    if ([...group.rules, ...added].some((r) => sameRule(r, rule))) throw new AwsError("InvalidPermission.Duplicate", `the specified rule "${describeRule(rule)}" already exists`);
    added.push({ id: ids.ec2("sgr"), ...rule });
  }
  group.rules.push(...added);
  return { return: true, securityGroupRuleSet: added.map((r) => ruleXml(ctx, group, r)) };
}

function revoke(ctx: ServiceContext, input: QueryInput, egress: boolean): XmlObject {
  const ec2 = ec2State(ctx);
  const group = getSecurityGroup(ec2, input.required("GroupId"));
  const ruleIds = input.strings("SecurityGroupRuleId");
  const revoked = ruleIds.length > 0
    ? ruleIds.map((id) => {
        const rule = group.rules.find((r) => r.id === id && r.egress === egress);
        if (rule === undefined) throw new AwsError("InvalidSecurityGroupRuleId.NotFound", `The security group rule ID '${id}' does not exist`);
        return rule;
      })
    : rulesOf(input, egress).map((wanted) => {
        const rule = group.rules.find((r) => sameRule(r, wanted));
        if (rule === undefined) throw new AwsError("InvalidPermission.NotFound", "The specified rule does not exist in this security group.");
        return rule;
      });
  group.rules = group.rules.filter((r) => !revoked.includes(r));
  return { return: true, revokedSecurityGroupRuleSet: revoked.map((r) => ({ ...ruleXml(ctx, group, r), groupOwnerId: undefined, referencedGroupInfo: undefined, referencedGroupId: r.groupId })) };
}

/** Every taggable resource by id, for CreateTags/DeleteTags. */
function taggable(ec2: Ec2State, id: string): { tags: Tags } {
  const resource = ec2.vpcs[id] ?? ec2.subnets[id] ?? ec2.internetGateways[id] ?? ec2.routeTables[id] ?? ec2.securityGroups[id];
  if (resource !== undefined) return resource;
  const kind = id.split("-")[0];
  if (kind === "vpc") throw notFound("InvalidVpcID.NotFound", `The vpc ID '${id}' does not exist`);
  if (kind === "subnet") throw notFound("InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`);
  if (kind === "igw") throw notFound("InvalidInternetGatewayID.NotFound", `The internetGateway ID '${id}' does not exist`);
  if (kind === "rtb") throw notFound("InvalidRouteTableID.NotFound", `The routeTable ID '${id}' does not exist`);
  if (kind === "sg") throw notFound("InvalidGroup.NotFound", `The security group '${id}' does not exist`);
  throw notFound("InvalidID", `The ID '${id}' is not valid`);
}

/** Tasks' network interfaces keep their subnets and groups in use, as ENIs do. */
function inUseByTasks(ctx: ServiceContext, key: "subnets" | "securityGroups", id: string): boolean {
  return Object.values(ctx.state.region(ctx.region).ecs.tasks).some((task) => {
    if (task.lastStatus === "STOPPED") return false;
    const vpc = (task.networkConfiguration as { awsvpcConfiguration?: Record<string, string[] | undefined> } | undefined)?.awsvpcConfiguration;
    return vpc?.[key]?.includes(id) === true;
  });
}

type Ec2Operation = (ctx: ServiceContext, input: QueryInput, ec2: Ec2State) => XmlObject | undefined;

const operations: Record<string, Ec2Operation> = {
  DescribeAvailabilityZones(ctx, input) {
    const zones = availabilityZones(ctx.region).map((z) => ({ ...z, tags: {} }));
    const requested = input.strings("ZoneName");
    const chosen = applyFilters(
      zones.filter((z) => requested.length === 0 || requested.includes(z.name)),
      filtersOf(input),
      (z, name) => ({ "zone-name": [z.name], "zone-id": [z.id], state: ["available"], "region-name": [ctx.region], "zone-type": ["availability-zone"] })[name],
    );
    return {
      availabilityZoneInfo: chosen.map((z) => ({ zoneName: z.name, zoneId: z.id, zoneState: "available", regionName: ctx.region, optInStatus: "opt-in-not-required", groupName: ctx.region, networkBorderGroup: ctx.region, zoneType: "availability-zone", messageSet: [] })),
    };
  },

  DescribeVpcs(ctx, input, ec2) {
    const vpcs = describe(ec2.vpcs, input.strings("VpcId"), (id) => notFound("InvalidVpcID.NotFound", `The vpc ID '${id}' does not exist`), filtersOf(input), (vpc, name) =>
      ({ "vpc-id": [vpc.id], isDefault: [String(vpc.isDefault)], "is-default": [String(vpc.isDefault)], "cidr-block": [vpc.cidrBlock], cidr: [vpc.cidrBlock], state: ["available"], "owner-id": [ctx.accountId] })[name],
    );
    return { vpcSet: vpcs.map((v) => vpcXml(ctx, v)) };
  },
  CreateVpc(ctx, input, ec2) {
    const cidrBlock = input.required("CidrBlock");
    const range = parseCidr(cidrBlock);
    if (range === null || range.prefix < 16 || range.prefix > 28) throw new AwsError("InvalidVpc.Range", `The CIDR '${cidrBlock}' is invalid.`);
    const vpc = addVpc(ec2, cidrBlock, false, tagsFor(input, "vpc"));
    return { vpc: vpcXml(ctx, vpc, "pending") };
  },
  ModifyVpcAttribute(_ctx, input, ec2) {
    getVpc(ec2, input.required("VpcId"));
    return undefined;
  },
  DeleteVpc(ctx, input, ec2) {
    const vpc = getVpc(ec2, input.required("VpcId"));
    const has = (collection: Record<string, { vpcId: string | null }>, except: (r: never) => boolean = () => false): boolean => Object.values(collection).some((r) => r.vpcId === vpc.id && !except(r as never));
    if (has(ec2.subnets) || has(ec2.internetGateways) || has(ec2.routeTables, (t: RouteTable) => t.main) || has(ec2.securityGroups, (g: SecurityGroup) => g.name === "default")) {
      throw dependencyViolation(`The vpc '${vpc.id}' has dependencies and cannot be deleted.`);
    }
    for (const [id, t] of Object.entries(ec2.routeTables)) if (t.vpcId === vpc.id) delete ec2.routeTables[id];
    for (const [id, g] of Object.entries(ec2.securityGroups)) if (g.vpcId === vpc.id) delete ec2.securityGroups[id];
    delete ec2.vpcs[vpc.id];
    void ctx;
    return { return: true };
  },

  DescribeSubnets(ctx, input, ec2) {
    const subnets = describe(ec2.subnets, input.strings("SubnetId"), (id) => notFound("InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`), filtersOf(input), (s, name) =>
      ({
        "subnet-id": [s.id],
        "vpc-id": [s.vpcId],
        "availability-zone": [s.availabilityZone],
        "availabilityZone": [s.availabilityZone],
        "default-for-az": [String(s.defaultForAz)],
        defaultForAz: [String(s.defaultForAz)],
        "cidr-block": [s.cidrBlock],
        "map-public-ip-on-launch": [String(s.mapPublicIpOnLaunch)],
        state: ["available"],
      })[name],
    );
    return { subnetSet: subnets.map((s) => subnetXml(ctx, s)) };
  },
  CreateSubnet(ctx, input, ec2) {
    const vpc = getVpc(ec2, input.required("VpcId"));
    const cidrBlock = input.required("CidrBlock");
    const range = parseCidr(cidrBlock);
    if (range === null || range.prefix < 16 || range.prefix > 28 || !cidrContains(parseCidr(vpc.cidrBlock)!, range)) throw new AwsError("InvalidSubnet.Range", `The CIDR '${cidrBlock}' is invalid.`);
    if (Object.values(ec2.subnets).some((s) => s.vpcId === vpc.id && cidrOverlaps(parseCidr(s.cidrBlock)!, range))) throw new AwsError("InvalidSubnet.Conflict", `The CIDR '${cidrBlock}' conflicts with another subnet`);
    const zones = availabilityZones(ctx.region);
    const zoneName = input.string("AvailabilityZone") ?? zones.find((z) => z.id === input.string("AvailabilityZoneId"))?.name ?? zones[0]!.name;
    if (!zones.some((z) => z.name === zoneName)) throw new AwsError("InvalidParameterValue", `Value (${zoneName}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zones.map((z) => z.name).join(", ")}.`);
    const subnet: Subnet = { id: ids.ec2("subnet"), vpcId: vpc.id, cidrBlock, availabilityZone: zoneName, mapPublicIpOnLaunch: false, defaultForAz: false, tags: tagsFor(input, "subnet") };
    ec2.subnets[subnet.id] = subnet;
    return { subnet: subnetXml(ctx, subnet) };
  },
  ModifySubnetAttribute(_ctx, input, ec2) {
    const subnet = getSubnet(ec2, input.required("SubnetId"));
    const mapPublic = input.child("MapPublicIpOnLaunch").boolean("Value");
    if (mapPublic !== undefined) subnet.mapPublicIpOnLaunch = mapPublic;
    return { return: true };
  },
  DeleteSubnet(ctx, input, ec2) {
    const subnet = getSubnet(ec2, input.required("SubnetId"));
    if (inUseByTasks(ctx, "subnets", subnet.id)) throw dependencyViolation(`The subnet '${subnet.id}' has dependencies and cannot be deleted.`);
    for (const table of Object.values(ec2.routeTables)) table.associations = table.associations.filter((a) => a.subnetId !== subnet.id);
    delete ec2.subnets[subnet.id];
    return { return: true };
  },

  DescribeInternetGateways(ctx, input, ec2) {
    const gateways = describe(ec2.internetGateways, input.strings("InternetGatewayId"), (id) => notFound("InvalidInternetGatewayID.NotFound", `The internetGateway ID '${id}' does not exist`), filtersOf(input), (g, name) =>
      ({ "internet-gateway-id": [g.id], "attachment.vpc-id": g.vpcId === null ? [] : [g.vpcId], "attachment.state": g.vpcId === null ? [] : ["available"], "owner-id": [ctx.accountId] })[name],
    );
    return { internetGatewaySet: gateways.map((g) => gatewayXml(ctx, g)) };
  },
  CreateInternetGateway(ctx, input, ec2) {
    const igw: InternetGateway = { id: ids.ec2("igw"), vpcId: null, tags: tagsFor(input, "internet-gateway") };
    ec2.internetGateways[igw.id] = igw;
    return { internetGateway: gatewayXml(ctx, igw) };
  },
  AttachInternetGateway(_ctx, input, ec2) {
    const igw = getGateway(ec2, input.required("InternetGatewayId"));
    const vpc = getVpc(ec2, input.required("VpcId"));
    if (igw.vpcId !== null) throw new AwsError("Resource.AlreadyAssociated", `resource ${igw.id} is already attached to network ${igw.vpcId}`);
    if (Object.values(ec2.internetGateways).some((g) => g.vpcId === vpc.id)) throw new AwsError("Resource.AlreadyAssociated", `Network ${vpc.id} already has an internet gateway attached`);
    igw.vpcId = vpc.id;
    return { return: true };
  },
  DetachInternetGateway(_ctx, input, ec2) {
    const igw = getGateway(ec2, input.required("InternetGatewayId"));
    const vpcId = input.required("VpcId");
    if (igw.vpcId !== vpcId) throw new AwsError("Gateway.NotAttached", `resource ${igw.id} is not attached to network ${vpcId}`);
    igw.vpcId = null;
    return { return: true };
  },
  DeleteInternetGateway(_ctx, input, ec2) {
    const igw = getGateway(ec2, input.required("InternetGatewayId"));
    if (igw.vpcId !== null) throw dependencyViolation(`The internetGateway '${igw.id}' has dependencies and cannot be deleted.`);
    delete ec2.internetGateways[igw.id];
    return { return: true };
  },

  DescribeRouteTables(ctx, input, ec2) {
    const tables = describe(ec2.routeTables, input.strings("RouteTableId"), (id) => notFound("InvalidRouteTableID.NotFound", `The routeTable ID '${id}' does not exist`), filtersOf(input), (t, name) =>
      ({
        "route-table-id": [t.id],
        "vpc-id": [t.vpcId],
        "association.main": t.main ? ["true"] : t.associations.length > 0 ? ["false"] : [],
        "association.subnet-id": t.associations.map((a) => a.subnetId),
        "association.route-table-association-id": t.associations.map((a) => a.id),
        "route.gateway-id": t.routes.map((r) => r.gatewayId),
        "route.destination-cidr-block": t.routes.map((r) => r.destinationCidrBlock),
      })[name],
    );
    return { routeTableSet: tables.map((t) => routeTableXml(ctx, t)) };
  },
  CreateRouteTable(ctx, input, ec2) {
    const vpc = getVpc(ec2, input.required("VpcId"));
    const table: RouteTable = { id: ids.ec2("rtb"), vpcId: vpc.id, main: false, routes: [{ destinationCidrBlock: vpc.cidrBlock, gatewayId: "local", origin: "CreateRouteTable" }], associations: [], tags: tagsFor(input, "route-table") };
    ec2.routeTables[table.id] = table;
    return { routeTable: routeTableXml(ctx, table) };
  },
  DeleteRouteTable(_ctx, input, ec2) {
    const table = getRouteTable(ec2, input.required("RouteTableId"));
    if (table.main || table.associations.length > 0) throw dependencyViolation(`The routeTable '${table.id}' has dependencies and cannot be deleted.`);
    delete ec2.routeTables[table.id];
    return { return: true };
  },
  CreateRoute(_ctx, input, ec2) {
    const table = getRouteTable(ec2, input.required("RouteTableId"));
    const destination = input.required("DestinationCidrBlock");
    const gatewayId = input.required("GatewayId");
    if (ec2.internetGateways[gatewayId] === undefined) throw notFound("InvalidGatewayID.NotFound", `The gateway ID '${gatewayId}' does not exist`);
    if (table.routes.some((r) => r.destinationCidrBlock === destination)) throw new AwsError("RouteAlreadyExists", `The route identified by ${destination} already exists.`);
    table.routes.push({ destinationCidrBlock: destination, gatewayId, origin: "CreateRoute" });
    return { return: true };
  },
  DeleteRoute(_ctx, input, ec2) {
    const table = getRouteTable(ec2, input.required("RouteTableId"));
    const destination = input.required("DestinationCidrBlock");
    const index = table.routes.findIndex((r) => r.destinationCidrBlock === destination && r.origin === "CreateRoute");
    if (index < 0) throw new AwsError("InvalidRoute.NotFound", `no route with destination-cidr-block ${destination} in route table ${table.id}`);
    table.routes.splice(index, 1);
    return undefined;
  },
  AssociateRouteTable(_ctx, input, ec2) {
    const table = getRouteTable(ec2, input.required("RouteTableId"));
    const subnet = getSubnet(ec2, input.required("SubnetId"));
    if (subnet.vpcId !== table.vpcId) throw new AwsError("InvalidParameterValue", `Route table ${table.id} and subnet ${subnet.id} belong to different networks`);
    const existing = Object.values(ec2.routeTables).find((t) => t.associations.some((a) => a.subnetId === subnet.id));
    if (existing !== undefined) {
      if (existing.id === table.id) return { associationId: existing.associations.find((a) => a.subnetId === subnet.id)!.id, associationState: { state: "associated" } };
      throw new AwsError("Resource.AlreadyAssociated", `the specified association for route table ${table.id} conflicts with an existing association`);
    }
    const association = { id: ids.ec2("rtbassoc"), subnetId: subnet.id };
    table.associations.push(association);
    return { associationId: association.id, associationState: { state: "associated" } };
  },
  DisassociateRouteTable(_ctx, input, ec2) {
    const id = input.required("AssociationId");
    const table = Object.values(ec2.routeTables).find((t) => t.associations.some((a) => a.id === id));
    if (table === undefined) throw notFound("InvalidAssociationID.NotFound", `The association ID '${id}' does not exist`);
    table.associations = table.associations.filter((a) => a.id !== id);
    return { return: true };
  },

  DescribeSecurityGroups(ctx, input, ec2) {
    const names = input.strings("GroupName");
    let groups = describe(ec2.securityGroups, input.strings("GroupId"), (id) => notFound("InvalidGroup.NotFound", `The security group '${id}' does not exist`), filtersOf(input), (g, name) =>
      ({ "group-id": [g.id], "group-name": [g.name], "vpc-id": [g.vpcId], description: [g.description], "owner-id": [ctx.accountId] })[name],
    );
    if (names.length > 0) {
      const defaultVpc = Object.values(ec2.vpcs).find((v) => v.isDefault);
      for (const name of names) {
        if (!groups.some((g) => g.name === name && g.vpcId === defaultVpc?.id)) throw notFound("InvalidGroup.NotFound", `The security group '${name}' does not exist in default VPC '${defaultVpc?.id ?? "none"}'`);
      }
      groups = groups.filter((g) => names.includes(g.name) && g.vpcId === defaultVpc?.id);
    }
    return { securityGroupInfo: groups.map((g) => securityGroupXml(ctx, g)) };
  },
  CreateSecurityGroup(ctx, input, ec2) {
    const name = input.required("GroupName");
    const description = input.required("GroupDescription");
    const vpcId = input.string("VpcId") ?? Object.values(ec2.vpcs).find((v) => v.isDefault)?.id;
    if (vpcId === undefined) throw new AwsError("VPCIdNotSpecified", "No default VPC for this user");
    getVpc(ec2, vpcId);
    if (name === "default" || Object.values(ec2.securityGroups).some((g) => g.vpcId === vpcId && g.name === name)) throw new AwsError("InvalidGroup.Duplicate", `The security group '${name}' already exists for VPC '${vpcId}'`);
    const group: SecurityGroup = { id: ids.ec2("sg"), name, description, vpcId, rules: [], tags: tagsFor(input, "security-group") };
    group.rules.push({ id: ids.ec2("sgr"), egress: true, ipProtocol: "-1", cidrIp: "0.0.0.0/0" });
    ec2.securityGroups[group.id] = group;
    return { return: true, groupId: group.id, securityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:security-group/${group.id}`, tagSet: tagSet(group.tags) };
  },
  DeleteSecurityGroup(ctx, input, ec2) {
    const group = getSecurityGroup(ec2, input.required("GroupId"));
    if (group.name === "default") throw new AwsError("CannotDelete", `the specified group: "${group.id}" name: "default" cannot be deleted by a user`);
    const referenced = Object.values(ec2.securityGroups).some((g) => g.id !== group.id && g.rules.some((r) => r.groupId === group.id));
    if (referenced || inUseByTasks(ctx, "securityGroups", group.id)) throw dependencyViolation(`resource ${group.id} has a dependent object`);
    delete ec2.securityGroups[group.id];
    return { return: true, groupId: group.id };
  },
  AuthorizeSecurityGroupIngress: (ctx, input) => authorize(ctx, input, false),
  AuthorizeSecurityGroupEgress: (ctx, input) => authorize(ctx, input, true),
  RevokeSecurityGroupIngress: (ctx, input) => revoke(ctx, input, false),
  RevokeSecurityGroupEgress: (ctx, input) => revoke(ctx, input, true),

  CreateTags(_ctx, input, ec2) {
    const resources = input.strings("ResourceId").map((id) => taggable(ec2, id));
    for (const tag of input.objects("Tag")) for (const r of resources) r.tags[tag.required("Key")] = tag.string("Value") ?? "";
    return { return: true };
  },
  DeleteTags(_ctx, input, ec2) {
    const resources = input.strings("ResourceId").map((id) => taggable(ec2, id));
    for (const tag of input.objects("Tag")) for (const r of resources) delete r.tags[tag.required("Key")];
    return { return: true };
  },
};

export const ec2Service: QueryService = {
  protocol: "ec2",
  signingName: "ec2",
  xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/",
  missingParameter: (name) => new AwsError("MissingParameter", `The request must contain the parameter ${name}`),
  operations: Object.fromEntries(
    Object.entries(operations).map(([name, operation]) => [
      name,
      (ctx: ServiceContext, input: QueryInput) => {
        if (input.boolean("DryRun") === true) throw new AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412);
        return operation(ctx, input, ec2State(ctx));
      },
    ]),
  ),
};
