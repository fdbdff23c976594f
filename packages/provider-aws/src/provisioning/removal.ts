import {
  DeleteInternetGatewayCommand,
  DeleteRouteTableCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeInternetGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  DetachInternetGatewayCommand,
  DeleteTagsCommand,
  DisassociateRouteTableCommand,
  type Filter,
} from "@aws-sdk/client-ec2";
import { DeleteRepositoryCommand, DescribeRepositoriesCommand, ListTagsForResourceCommand, UntagResourceCommand as UntagRepositoryCommand } from "@aws-sdk/client-ecr";
import {
  DeleteClusterCommand,
  DeleteTaskDefinitionsCommand,
  DeregisterTaskDefinitionCommand,
  DescribeClustersCommand,
  DescribeTaskDefinitionCommand,
  ListTaskDefinitionsCommand,
  UntagResourceCommand as UntagClusterCommand,
} from "@aws-sdk/client-ecs";
import {
  DeleteAccessKeyCommand,
  DeletePolicyCommand,
  DeletePolicyVersionCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  DeleteUserCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetPolicyCommand,
  GetRoleCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListPolicyVersionsCommand,
  ListRolePoliciesCommand,
  UntagPolicyCommand,
  UntagRoleCommand,
  UntagUserCommand,
} from "@aws-sdk/client-iam";
import type { FoundResource } from "@ferry/provider-kit";
import { FerryError, isFerryError } from "@ferry/core";
import { allPages, call, callOrNull, type AwsClients } from "./aws-clients.js";
import type { ProvisioningNames } from "./names.js";
import { identity, policyArn } from "./observe.js";
import { ACCESS_KEY_TAG_PREFIX, hasPoolTag, holdersOf, POOL_TAG, poolUsesTag, tagMap, type StepId } from "./plan.js";

/**
 * What removal considers, in any order (the kit's engine deletes in the reverse order of creation):
 * everything the pool uses (tagged `ferry:pool=<pool>` by the provisioning that made it, or
 * `ferry:pool:<pool>` by a later pool's provisioning that found it), and the resources with the
 * expected names, kept with the reason when the pool does not use them. A resource other pools use too
 * stays: only the pool's tag is removed (and, from the IAM user, the pool's own access key), so the
 * last pool's removal deletes it. The task definitions the pool's runs registered are deregistered and
 * deleted. The repository's images block its deletion: they are the user's, Ferry does not force it.
 */
export async function findForRemoval(clients: AwsClients, names: ProvisioningNames, poolName: string, signal: AbortSignal | undefined): Promise<FoundResource[]> {
  const { iam, ec2, ecs, ecr } = clients;
  const out: FoundResource[] = [];
  const keep = (id: StepId, resource: string, name: string, tags?: Parameters<typeof holdersOf>[0]) => {
    const others = holdersOf(tags).filter((h) => h !== poolName);
    out.push({ createdBy: id, id, resource, name, owned: false, ...(others.length ? { detail: `used by ${poolList(others)}, not by '${poolName}': left alone` } : {}), remove: async () => {} });
  };
  /** Deletes the resource, or only untags it while other pools use it; keeps it when the pool does not use it. */
  const consider = (createdBy: StepId, resource: string, name: string, tags: Parameters<typeof holdersOf>[0], remove: () => Promise<void>, untag: (keys: string[]) => Promise<void>) => {
    // The subnets step makes several: each removal step is one subnet.
    const id = createdBy === "subnets" ? "subnet" : createdBy;
    const holders = holdersOf(tags);
    if (!holders.includes(poolName)) return keep(createdBy, resource, name, tags);
    const others = holders.filter((h) => h !== poolName);
    if (!others.length) return void out.push({ createdBy, id, resource, name, owned: true, remove });
    out.push({
      createdBy,
      id,
      resource: `pool tag on ${resource}`,
      name,
      owned: true,
      detail: `also used by ${poolList(others)}: it stays, only pool '${poolName}''s tag is removed`,
      remove: () => untag(poolTagKeys(tags, poolName)),
    });
  };
  const id = await identity(clients, signal);

  // The repository (images in it block the deletion: they are the user's, Ferry does not force it).
  const repos = await callOrNull({ action: "ecr:DescribeRepositories" }, signal, (o) => ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [names.repository] }), o));
  const repo = repos?.repositories?.find((r) => r.repositoryName === names.repository);
  if (repo?.repositoryArn) {
    const arn = repo.repositoryArn;
    const tags = await call({ action: "ecr:ListTagsForResource", target: names.repository }, signal, (o) => ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }), o));
    consider(
      "repository",
      "ECR repository",
      names.repository,
      tags.tags,
      async () => {
        await call({ action: "ecr:DeleteRepository", target: names.repository }, signal, (o) => ecr.send(new DeleteRepositoryCommand({ repositoryName: names.repository }), o));
      },
      async (tagKeys) => {
        await call({ action: "ecr:UntagResource", target: names.repository }, signal, (o) => ecr.send(new UntagRepositoryCommand({ resourceArn: arn, tagKeys }), o));
      },
    );
  }

  // The network: everything the pool uses, dependants first; found by either of the pool's tags.
  const byTag: Filter[][] = [[{ Name: `tag:${POOL_TAG}`, Values: [poolName] }], [{ Name: "tag-key", Values: [poolUsesTag(poolName)] }]];
  const untagEc2 = (resourceId: string) => async (keys: string[]) => {
    await call({ action: "ec2:DeleteTags", target: resourceId }, signal, (o) => ec2.send(new DeleteTagsCommand({ Resources: [resourceId], Tags: keys.map((Key) => ({ Key })) }), o));
  };
  const groups = await describeEach(byTag, (Filters) => call({ action: "ec2:DescribeSecurityGroups" }, signal, (o) => ec2.send(new DescribeSecurityGroupsCommand({ Filters }), o)).then((r) => r.SecurityGroups ?? []), (g) => g.GroupId);
  for (const g of groups.filter((g) => hasPoolTag(g.Tags, poolName) && g.GroupId)) {
    const groupId = g.GroupId!;
    consider("security-group", "security group", `${g.GroupName ?? ""} (${groupId})`, g.Tags, async () => {
      await call({ action: "ec2:DeleteSecurityGroup", target: groupId }, signal, (o) => ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }), o));
    }, untagEc2(groupId));
  }
  const tables = await describeEach(byTag, (Filters) => call({ action: "ec2:DescribeRouteTables" }, signal, (o) => ec2.send(new DescribeRouteTablesCommand({ Filters }), o)).then((r) => r.RouteTables ?? []), (t) => t.RouteTableId);
  for (const t of tables.filter((t) => hasPoolTag(t.Tags, poolName) && t.RouteTableId)) {
    const tableId = t.RouteTableId!;
    const associations = (t.Associations ?? []).filter((a) => !a.Main && a.RouteTableAssociationId).map((a) => a.RouteTableAssociationId!);
    consider("route-table", "route table", tableId, t.Tags, async () => {
      for (const AssociationId of associations) {
        await callOrNull({ action: "ec2:DisassociateRouteTable", target: tableId }, signal, (o) => ec2.send(new DisassociateRouteTableCommand({ AssociationId }), o));
      }
      await call({ action: "ec2:DeleteRouteTable", target: tableId }, signal, (o) => ec2.send(new DeleteRouteTableCommand({ RouteTableId: tableId }), o));
    }, untagEc2(tableId));
  }
  const subnets = await describeEach(byTag, (Filters) => call({ action: "ec2:DescribeSubnets" }, signal, (o) => ec2.send(new DescribeSubnetsCommand({ Filters }), o)).then((r) => r.Subnets ?? []), (s) => s.SubnetId);
  for (const s of subnets.filter((s) => hasPoolTag(s.Tags, poolName) && s.SubnetId)) {
    const subnetId = s.SubnetId!;
    consider("subnets", "subnet", `${subnetId} (${s.AvailabilityZone ?? ""})`, s.Tags, async () => {
      await call({ action: "ec2:DeleteSubnet", target: subnetId }, signal, (o) => ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }), o));
    }, untagEc2(subnetId));
  }
  const gateways = await describeEach(byTag, (Filters) => call({ action: "ec2:DescribeInternetGateways" }, signal, (o) => ec2.send(new DescribeInternetGatewaysCommand({ Filters }), o)).then((r) => r.InternetGateways ?? []), (g) => g.InternetGatewayId);
  for (const g of gateways.filter((g) => hasPoolTag(g.Tags, poolName) && g.InternetGatewayId)) {
    const gatewayId = g.InternetGatewayId!;
    const vpcs = (g.Attachments ?? []).flatMap((a) => (a.VpcId ? [a.VpcId] : []));
    consider("internet-gateway", "internet gateway", gatewayId, g.Tags, async () => {
      for (const VpcId of vpcs) {
        await callOrNull({ action: "ec2:DetachInternetGateway", target: gatewayId }, signal, (o) => ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId }), o));
      }
      await call({ action: "ec2:DeleteInternetGateway", target: gatewayId }, signal, (o) => ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: gatewayId }), o));
    }, untagEc2(gatewayId));
  }
  const vpcs = await describeEach(byTag, (Filters) => call({ action: "ec2:DescribeVpcs" }, signal, (o) => ec2.send(new DescribeVpcsCommand({ Filters }), o)).then((r) => r.Vpcs ?? []), (v) => v.VpcId);
  for (const v of vpcs.filter((v) => hasPoolTag(v.Tags, poolName) && v.VpcId && !v.IsDefault)) {
    const vpcId = v.VpcId!;
    consider("vpc", "VPC", `${vpcId} (${v.CidrBlock ?? ""})`, v.Tags, async () => {
      await call({ action: "ec2:DeleteVpc", target: vpcId }, signal, (o) => ec2.send(new DeleteVpcCommand({ VpcId: vpcId }), o));
    }, untagEc2(vpcId));
  }

  // The task definitions the pool's runs registered (tagged with the pool by the provider).
  out.push(...(await taskDefinitionsOf(clients, poolName, signal)));

  // The cluster.
  const clusters = await call({ action: "ecs:DescribeClusters" }, signal, (o) => ecs.send(new DescribeClustersCommand({ clusters: [names.cluster], include: ["TAGS"] }), o));
  const cluster = clusters.clusters?.find((c) => c.clusterName === names.cluster && c.status === "ACTIVE");
  if (cluster) {
    const clusterArn = cluster.clusterArn ?? names.cluster;
    consider(
      "cluster",
      "ECS cluster",
      names.cluster,
      cluster.tags,
      async () => {
        await call({ action: "ecs:DeleteCluster", target: names.cluster }, signal, (o) => ecs.send(new DeleteClusterCommand({ cluster: names.cluster }), o));
      },
      async (tagKeys) => {
        await call({ action: "ecs:UntagResource", target: names.cluster }, signal, (o) => ecs.send(new UntagClusterCommand({ resourceArn: clusterArn, tagKeys }), o));
      },
    );
  }

  // IAM: the user's keys and policy, the user, the execution role.
  const user = await callOrNull({ action: "iam:GetUser", target: names.user }, signal, (o) => iam.send(new GetUserCommand({ UserName: names.user }), o));
  const userTags = tagMap(user?.User?.Tags);
  const userHolders = holdersOf(userTags);
  if (user?.User && userHolders.includes(poolName)) {
    const keys = (await call({ action: "iam:ListAccessKeys", target: names.user }, signal, (o) => iam.send(new ListAccessKeysCommand({ UserName: names.user }), o))).AccessKeyMetadata ?? [];
    // The user goes with its keys when no other pool uses it; otherwise only the key made for this pool.
    const shared = userHolders.some((h) => h !== poolName);
    const ours = userTags[`${ACCESS_KEY_TAG_PREFIX}${poolName}`];
    for (const k of keys.filter((k) => k.AccessKeyId && (!shared || k.AccessKeyId === ours))) {
      const keyId = k.AccessKeyId!;
      out.push({
        createdBy: "access-key",
        id: "access-key",
        resource: "IAM access key",
        name: keyId,
        owned: true,
        ...(shared ? { detail: `pool '${poolName}''s key; the user's other keys stay` } : {}),
        remove: async () => {
          await callOrNull({ action: "iam:DeleteAccessKey", target: keyId }, signal, (o) => iam.send(new DeleteAccessKeyCommand({ UserName: names.user, AccessKeyId: keyId }), o));
        },
      });
    }
  }
  const arn = policyArn(id, names.policy);
  const policy = await callOrNull({ action: "iam:GetPolicy", target: names.policy }, signal, (o) => iam.send(new GetPolicyCommand({ PolicyArn: arn }), o));
  if (policy?.Policy) {
    consider(
      "policy",
      "IAM policy",
      names.policy,
      policy.Policy.Tags,
      async () => {
        if (user?.User) {
          await callOrNull({ action: "iam:DetachUserPolicy", target: names.policy }, signal, (o) => iam.send(new DetachUserPolicyCommand({ UserName: names.user, PolicyArn: arn }), o));
        }
        const versions = await call({ action: "iam:ListPolicyVersions", target: names.policy }, signal, (o) => iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }), o));
        for (const v of (versions.Versions ?? []).filter((v) => !v.IsDefaultVersion && v.VersionId)) {
          await call({ action: "iam:DeletePolicyVersion", target: names.policy }, signal, (o) => iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v.VersionId! }), o));
        }
        await call({ action: "iam:DeletePolicy", target: names.policy }, signal, (o) => iam.send(new DeletePolicyCommand({ PolicyArn: arn }), o));
      },
      async (TagKeys) => {
        await call({ action: "iam:UntagPolicy", target: names.policy }, signal, (o) => iam.send(new UntagPolicyCommand({ PolicyArn: arn, TagKeys }), o));
      },
    );
  }
  if (user?.User) {
    consider(
      "user",
      "IAM user",
      names.user,
      userTags,
      async () => {
        const attached = await call({ action: "iam:ListAttachedUserPolicies", target: names.user }, signal, (o) => iam.send(new ListAttachedUserPoliciesCommand({ UserName: names.user }), o));
        for (const p of (attached.AttachedPolicies ?? []).filter((p) => p.PolicyArn)) {
          await call({ action: "iam:DetachUserPolicy", target: names.user }, signal, (o) => iam.send(new DetachUserPolicyCommand({ UserName: names.user, PolicyArn: p.PolicyArn! }), o));
        }
        await call({ action: "iam:DeleteUser", target: names.user }, signal, (o) => iam.send(new DeleteUserCommand({ UserName: names.user }), o));
      },
      async (tagKeys) => {
        const TagKeys = [...tagKeys, ...(userTags[`${ACCESS_KEY_TAG_PREFIX}${poolName}`] !== undefined ? [`${ACCESS_KEY_TAG_PREFIX}${poolName}`] : [])];
        await call({ action: "iam:UntagUser", target: names.user }, signal, (o) => iam.send(new UntagUserCommand({ UserName: names.user, TagKeys }), o));
      },
    );
  }
  const role = await callOrNull({ action: "iam:GetRole", target: names.executionRole }, signal, (o) => iam.send(new GetRoleCommand({ RoleName: names.executionRole }), o));
  if (role?.Role) {
    const roleName = names.executionRole;
    consider(
      "execution-role",
      "IAM role",
      roleName,
      role.Role.Tags,
      async () => {
        const attached = await call({ action: "iam:ListAttachedRolePolicies", target: roleName }, signal, (o) => iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }), o));
        for (const p of (attached.AttachedPolicies ?? []).filter((p) => p.PolicyArn)) {
          await call({ action: "iam:DetachRolePolicy", target: roleName }, signal, (o) => iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: p.PolicyArn! }), o));
        }
        const inline = await call({ action: "iam:ListRolePolicies", target: roleName }, signal, (o) => iam.send(new ListRolePoliciesCommand({ RoleName: roleName }), o));
        for (const PolicyName of inline.PolicyNames ?? []) {
          await call({ action: "iam:DeleteRolePolicy", target: roleName }, signal, (o) => iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName }), o));
        }
        await call({ action: "iam:DeleteRole", target: roleName }, signal, (o) => iam.send(new DeleteRoleCommand({ RoleName: roleName }), o));
      },
      async (TagKeys) => {
        await call({ action: "iam:UntagRole", target: roleName }, signal, (o) => iam.send(new UntagRoleCommand({ RoleName: roleName, TagKeys }), o));
      },
    );
  }
  return out;
}

function poolList(pools: string[]): string {
  return `${pools.length === 1 ? "pool" : "pools"} ${pools.map((p) => `'${p}'`).join(", ")}`;
}

/** The tags that say `pool` uses a resource: `ferry:pool` when its provisioning made it, `ferry:pool:<pool>` when it found it. */
function poolTagKeys(tags: Parameters<typeof holdersOf>[0], pool: string): string[] {
  const map = tagMap(tags);
  return [...(map[POOL_TAG] === pool ? [POOL_TAG] : []), ...(map[poolUsesTag(pool)] !== undefined ? [poolUsesTag(pool)] : [])];
}

/** One Describe per filter set (EC2 ANDs filters, so "either tag" takes two), merged by id. */
async function describeEach<T>(filterSets: Filter[][], describe: (filters: Filter[]) => Promise<T[]>, idOf: (item: T) => string | undefined): Promise<T[]> {
  const seen = new Map<string, T>();
  for (const filters of filterSets) {
    for (const item of await describe(filters)) {
      const key = idOf(item);
      if (key && !seen.has(key)) seen.set(key, item);
    }
  }
  return [...seen.values()];
}

/**
 * The task definitions the pool's runs registered: every revision of a `ferry-…` family (the families
 * EcsProvider names, see familyFor) tagged `ferry:pool=<pool>`, active or deregistered. Only those
 * families are read, so an account with thousands of other definitions costs no thousands of
 * Describe calls; a family set with the `family` job variable is the user's to remove. Each is
 * deregistered, then deleted (DeleteTaskDefinitions; where a partition lacks it, a deregistered
 * revision is all AWS offers).
 */
const FERRY_FAMILY_PREFIX = "ferry-";

async function taskDefinitionsOf(clients: AwsClients, poolName: string, signal: AbortSignal | undefined): Promise<FoundResource[]> {
  const { ecs } = clients;
  const out: FoundResource[] = [];
  for (const status of ["ACTIVE", "INACTIVE"] as const) {
    const arns = await allPages(
      (nextToken) => call({ action: "ecs:ListTaskDefinitions" }, signal, (o) => ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: FERRY_FAMILY_PREFIX, status, ...(nextToken ? { nextToken } : {}) }), o)),
      (p) => p.taskDefinitionArns,
      (p) => p.nextToken,
    );
    for (const arn of arns) {
      const described = await callOrNull({ action: "ecs:DescribeTaskDefinition", target: arn }, signal, (o) => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] }), o));
      if (!described?.taskDefinition || tagMap(described.tags)[POOL_TAG] !== poolName) continue;
      const name = `${described.taskDefinition.family ?? "?"}:${described.taskDefinition.revision ?? "?"}`;
      out.push({
        createdBy: "cluster",
        id: "task-definition",
        resource: "ECS task definition",
        name,
        owned: true,
        remove: async () => {
          if (status === "ACTIVE") {
            await call({ action: "ecs:DeregisterTaskDefinition", target: name }, signal, (o) => ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn }), o));
          }
          try {
            const deleted = await call({ action: "ecs:DeleteTaskDefinitions", target: name }, signal, (o) => ecs.send(new DeleteTaskDefinitionsCommand({ taskDefinitions: [arn] }), o));
            const failure = deleted.failures?.[0];
            if (failure) throw new FerryError("provider_error", `ecs:DeleteTaskDefinitions refused ${name}: ${failure.reason ?? "no reason given"}`);
          } catch (error) {
            // Deregistered is what ECS offers where the delete call does not exist.
            if (isFerryError(error) && /UnknownOperation|InvalidAction|not supported/i.test(`${String((error.details as { aws_error?: string } | undefined)?.aws_error)} ${error.message}`)) return;
            throw error;
          }
        },
      });
    }
  }
  return out;
}
