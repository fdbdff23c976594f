import {
  DescribeAvailabilityZonesCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  type Vpc,
} from "@aws-sdk/client-ec2";
import { DescribeRepositoriesCommand, ListTagsForResourceCommand } from "@aws-sdk/client-ecr";
import { DescribeClustersCommand } from "@aws-sdk/client-ecs";
import {
  GetPolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
} from "@aws-sdk/client-iam";
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { FerryError } from "@ferry/core";
import { allPages, call, callOrNull, resolvedRegion, tagValue, type AwsClients } from "./aws-clients.js";
import { networkNames, type ProvisioningNames } from "./names.js";
import { tagMap, type ObservedState, type StepId } from "./plan.js";
import { EXECUTION_ROLE_LOGS_POLICY_NAME, MANAGED_TASK_EXECUTION_POLICY_ARN } from "./policy.js";

export interface Identity {
  accountId: string;
  /** `aws`, `aws-cn`, `aws-us-gov`: ARNs Ferry builds use the caller's partition. */
  partition: string;
  region: string;
}

export async function identity(clients: AwsClients, signal?: AbortSignal): Promise<Identity> {
  const region = await resolvedRegion(clients);
  const me = await call({ action: "sts:GetCallerIdentity" }, signal, (o) => clients.sts.send(new GetCallerIdentityCommand({}), o));
  if (!me.Account) throw new FerryError("provider_error", "sts:GetCallerIdentity returned no account id");
  const partition = /^arn:([^:]+):/.exec(me.Arn ?? "")?.[1] ?? "aws";
  return { accountId: me.Account, partition, region };
}

export function policyArn(id: Identity, name: string): string {
  return `arn:${id.partition}:iam::${id.accountId}:policy/${name}`;
}

/** Reads what provisioning would touch. Only Get, Describe and List calls: `plan` is built on this. */
export async function observe(clients: AwsClients, names: ProvisioningNames, signal?: AbortSignal): Promise<ObservedState & { identity: Identity }> {
  const id = await identity(clients, signal);
  const { iam, ecs, ecr } = clients;

  const role = await callOrNull({ action: "iam:GetRole", target: names.executionRole }, signal, (o) => iam.send(new GetRoleCommand({ RoleName: names.executionRole }), o));
  let executionRole: ObservedState["executionRole"] = null;
  if (role?.Role?.Arn) {
    const attached = await allPages(
      (Marker) => call({ action: "iam:ListAttachedRolePolicies", target: names.executionRole }, signal, (o) => iam.send(new ListAttachedRolePoliciesCommand({ RoleName: names.executionRole, Marker }), o)),
      (p) => p.AttachedPolicies,
      (p) => (p.IsTruncated ? p.Marker : undefined),
    );
    const logs = await callOrNull({ action: "iam:GetRolePolicy", target: names.executionRole }, signal, (o) =>
      iam.send(new GetRolePolicyCommand({ RoleName: names.executionRole, PolicyName: EXECUTION_ROLE_LOGS_POLICY_NAME }), o),
    );
    executionRole = {
      arn: role.Role.Arn,
      managedPolicyAttached: attached.some((p) => p.PolicyArn === MANAGED_TASK_EXECUTION_POLICY_ARN.replace(":aws:", `:${id.partition}:`)),
      logsPolicy: logs !== null,
    };
  }

  const user = await callOrNull({ action: "iam:GetUser", target: names.user }, signal, (o) => iam.send(new GetUserCommand({ UserName: names.user }), o));
  let userState: ObservedState["user"] = null;
  let userPolicies: string[] = [];
  if (user?.User?.Arn) {
    const keys = await call({ action: "iam:ListAccessKeys", target: names.user }, signal, (o) => iam.send(new ListAccessKeysCommand({ UserName: names.user }), o));
    const keyIds = (keys.AccessKeyMetadata ?? []).flatMap((k) => (k.AccessKeyId ? [k.AccessKeyId] : []));
    userState = { arn: user.User.Arn, accessKeys: keys.AccessKeyMetadata?.length ?? 0, accessKeyIds: keyIds };
    userPolicies = (
      await allPages(
        (Marker) => call({ action: "iam:ListAttachedUserPolicies", target: names.user }, signal, (o) => iam.send(new ListAttachedUserPoliciesCommand({ UserName: names.user, Marker }), o)),
        (p) => p.AttachedPolicies,
        (p) => (p.IsTruncated ? p.Marker : undefined),
      )
    ).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : []));
  }

  const arn = policyArn(id, names.policy);
  const policy = await callOrNull({ action: "iam:GetPolicy", target: names.policy }, signal, (o) => iam.send(new GetPolicyCommand({ PolicyArn: arn }), o));
  const policyState = policy?.Policy ? { arn, attachedToUser: userPolicies.includes(arn) } : null;

  const clusters = await call({ action: "ecs:DescribeClusters", target: names.cluster }, signal, (o) => ecs.send(new DescribeClustersCommand({ clusters: [names.cluster], include: ["TAGS"] }), o));
  const cluster = clusters.clusters?.find((c) => c.clusterName === names.cluster && c.status === "ACTIVE" && c.clusterArn);

  const network = await observeNetwork(clients, names, signal);

  const repos = await callOrNull({ action: "ecr:DescribeRepositories", target: names.repository }, signal, (o) =>
    ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [names.repository] }), o),
  );
  const repo = repos?.repositories?.find((r) => r.repositoryName === names.repository && r.repositoryUri);
  const repoArn = repo?.repositoryArn;
  const repoTags = repoArn
    ? ((await call({ action: "ecr:ListTagsForResource", target: names.repository }, signal, (o) => ecr.send(new ListTagsForResourceCommand({ resourceArn: repoArn }), o))).tags ?? [])
    : [];

  // What exists, with its tags: a resource Ferry made for another pool is shared (see plan.ts).
  const tags: NonNullable<ObservedState["tags"]> = { ...network.tags };
  const put = (step: StepId, id: string | undefined, t: Parameters<typeof tagMap>[0]) => {
    if (id) (tags[step] ??= []).push({ id, tags: tagMap(t) });
  };
  if (role?.Role) put("execution-role", names.executionRole, role.Role.Tags);
  if (user?.User) put("user", names.user, user.User.Tags);
  if (policy?.Policy) put("policy", arn, policy.Policy.Tags);
  if (cluster) put("cluster", cluster.clusterArn, cluster.tags);
  if (repoArn) put("repository", repoArn, repoTags);

  return {
    identity: id,
    accountId: id.accountId,
    region: id.region,
    executionRole,
    user: userState,
    policy: policyState,
    cluster: cluster?.clusterArn ? { arn: cluster.clusterArn } : null,
    ...network,
    tags,
    repository: repo?.repositoryUri ? { uri: repo.repositoryUri } : null,
  };
}

type NetworkState = Pick<ObservedState, "defaultVpc" | "vpc" | "internetGateway" | "subnets" | "routeTable" | "securityGroup" | "vpcCidrs" | "zones"> & {
  tags: NonNullable<ObservedState["tags"]>;
};

async function observeNetwork(clients: AwsClients, names: ProvisioningNames, signal?: AbortSignal): Promise<NetworkState> {
  const { ec2 } = clients;
  const vpcs: Vpc[] = await allPages(
    (NextToken) => call({ action: "ec2:DescribeVpcs" }, signal, (o) => ec2.send(new DescribeVpcsCommand({ NextToken }), o)),
    (p) => p.Vpcs,
    (p) => p.NextToken,
  );
  const vpcCidrs = vpcs.flatMap((v) => [v.CidrBlock, ...(v.CidrBlockAssociationSet ?? []).map((a) => a.CidrBlock)]).filter((c): c is string => !!c);
  const defaultVpc = vpcs.find((v) => v.IsDefault && v.VpcId);
  const empty: NetworkState = { defaultVpc: null, vpc: null, internetGateway: null, subnets: [], routeTable: null, securityGroup: null, vpcCidrs: [...new Set(vpcCidrs)], zones: [], tags: {} };
  if (defaultVpc?.VpcId) return { ...empty, defaultVpc: { id: defaultVpc.VpcId } };

  const zones = await call({ action: "ec2:DescribeAvailabilityZones" }, signal, (o) =>
    ec2.send(new DescribeAvailabilityZonesCommand({ Filters: [{ Name: "state", Values: ["available"] }] }), o),
  );
  const zoneNames = (zones.AvailabilityZones ?? [])
    .filter((z) => (z.State ?? "available") === "available" && (z.ZoneType ?? "availability-zone") === "availability-zone")
    .flatMap((z) => (z.ZoneName ? [z.ZoneName] : []));
  const mine = vpcs.find((v) => tagValue(v.Tags, "Name") === names.vpc && v.VpcId && v.CidrBlock);
  if (!mine?.VpcId || !mine.CidrBlock) return { ...empty, zones: zoneNames };
  const vpcId = mine.VpcId;
  const net = networkNames(names.vpc);
  const byVpc = [{ Name: "vpc-id", Values: [vpcId] }];

  // An interrupted run may have made the gateway without attaching it: look for it by name too.
  const gateways = await call({ action: "ec2:DescribeInternetGateways" }, signal, (o) => ec2.send(new DescribeInternetGatewaysCommand({}), o));
  const attachedTo = (g: { Attachments?: { VpcId?: string | undefined }[] | undefined }) => (g.Attachments ?? []).some((a) => a.VpcId === vpcId);
  const gateway = gateways.InternetGateways?.find(attachedTo) ?? gateways.InternetGateways?.find((g) => tagValue(g.Tags, "Name") === net.internetGateway && !(g.Attachments ?? []).length);

  const subnets = await call({ action: "ec2:DescribeSubnets" }, signal, (o) => ec2.send(new DescribeSubnetsCommand({ Filters: byVpc }), o));
  const routeTables = await call({ action: "ec2:DescribeRouteTables" }, signal, (o) => ec2.send(new DescribeRouteTablesCommand({ Filters: byVpc }), o));
  const table = routeTables.RouteTables?.find((t) => t.VpcId === vpcId && tagValue(t.Tags, "Name") === net.routeTable);
  const groups = await call({ action: "ec2:DescribeSecurityGroups" }, signal, (o) => ec2.send(new DescribeSecurityGroupsCommand({ Filters: byVpc }), o));
  const group = groups.SecurityGroups?.find((g) => g.VpcId === vpcId && g.GroupName === net.securityGroup);

  const ownSubnets = (subnets.Subnets ?? []).filter((s) => s.VpcId === vpcId && s.SubnetId && s.AvailabilityZone && s.CidrBlock);
  const tags: NetworkState["tags"] = { vpc: [{ id: vpcId, tags: tagMap(mine.Tags) }] };
  if (gateway?.InternetGatewayId) tags["internet-gateway"] = [{ id: gateway.InternetGatewayId, tags: tagMap(gateway.Tags) }];
  if (ownSubnets.length) tags.subnets = ownSubnets.map((s) => ({ id: s.SubnetId!, tags: tagMap(s.Tags) }));
  if (table?.RouteTableId) tags["route-table"] = [{ id: table.RouteTableId, tags: tagMap(table.Tags) }];
  if (group?.GroupId) tags["security-group"] = [{ id: group.GroupId, tags: tagMap(group.Tags) }];

  return {
    ...empty,
    tags,
    zones: zoneNames,
    vpc: { id: vpcId, cidr: mine.CidrBlock },
    internetGateway: gateway?.InternetGatewayId ? { id: gateway.InternetGatewayId, attached: attachedTo(gateway) } : null,
    subnets: ownSubnets.map((s) => ({ id: s.SubnetId!, zone: s.AvailabilityZone!, cidr: s.CidrBlock! })),
    routeTable: table?.RouteTableId
      ? {
          id: table.RouteTableId,
          defaultRoute: (table.Routes ?? []).some((r) => r.DestinationCidrBlock === "0.0.0.0/0" && !!r.GatewayId?.startsWith("igw-")),
          associatedSubnets: (table.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
        }
      : null,
    securityGroup: group?.GroupId ? { id: group.GroupId } : null,
  };
}
