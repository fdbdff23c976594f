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
  DisassociateRouteTableCommand,
  type Filter,
} from "@aws-sdk/client-ec2";
import { DeleteRepositoryCommand, DescribeRepositoriesCommand, ListTagsForResourceCommand } from "@aws-sdk/client-ecr";
import { DeleteClusterCommand, DescribeClustersCommand } from "@aws-sdk/client-ecs";
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
} from "@aws-sdk/client-iam";
import { FerryError, isFerryError } from "@ferry/core";
import { call, callOrNull, createAwsClients, type AwsClients, type AwsClientsOptions } from "./aws-clients.js";
import { resolveNames, type ProvisioningNames } from "./names.js";
import { identity, policyArn } from "./observe.js";
import { hasPoolTag, POOL_TAG } from "./plan.js";

/** One thing deprovisioning found: removed when it carries the pool's tag, left alone otherwise. */
export interface DeprovisionStep {
  id: string;
  resource: string;
  name: string;
  action: "delete" | "keep";
  detail?: string;
}

export interface DeprovisionProgress {
  step: DeprovisionStep;
  status: "started" | "done" | "skipped" | "failed";
  message?: string;
}

export interface DeprovisionOptions extends AwsClientsOptions {
  clients?: AwsClients;
  /** The name overrides given when provisioning (`cluster_name`, …), to find the named resources. */
  names?: Record<string, string>;
  signal?: AbortSignal;
  /** Only find what would be removed. */
  dryRun?: boolean;
  onProgress?: (event: DeprovisionProgress) => void;
}

interface Found extends DeprovisionStep {
  remove?: () => Promise<void>;
}

/** What `deprovision` would remove (and what it would leave alone), in the order it would go. */
export async function planDeprovision(poolName: string, options: Omit<DeprovisionOptions, "dryRun" | "onProgress"> = {}): Promise<DeprovisionStep[]> {
  return deprovision(poolName, { ...options, dryRun: true });
}

/**
 * Removes, in the reverse order of provisioning, what carries the tag `ferry:pool=<poolName>`: the
 * repository, the network pieces, the cluster, the user's keys and policy, the user, the execution role.
 * A resource with the expected name but without the pool's tag is reported and left alone. Stops at the
 * first failure, saying what was removed; a re-run goes on from there.
 */
export async function deprovision(poolName: string, options: DeprovisionOptions = {}): Promise<DeprovisionStep[]> {
  const clients = options.clients ?? createAwsClients(options);
  const names = resolveNames(options.names ?? {});
  const found = await find(clients, names, poolName, options.signal);
  const steps = found.map(({ remove: _remove, ...step }) => step);
  if (options.dryRun) return steps;
  const removed: DeprovisionStep[] = [];
  for (const [i, item] of found.entries()) {
    const step = steps[i]!;
    if (item.action === "keep" || !item.remove) {
      options.onProgress?.({ step, status: "skipped", ...(step.detail ? { message: step.detail } : {}) });
      continue;
    }
    options.onProgress?.({ step, status: "started" });
    try {
      await item.remove();
    } catch (error) {
      const cause = isFerryError(error) ? error : new FerryError("provider_error", (error as Error)?.message ?? String(error), { cause: error });
      options.onProgress?.({ step, status: "failed", message: cause.message });
      const done = removed.length ? removed.map((s) => `${s.resource} ${s.name}`).join(", ") : "nothing";
      throw new FerryError(cause.code, `deprovisioning stopped at the ${step.resource} ${step.name}: ${cause.message}. Removed before that: ${done}. Run it again to go on.`, {
        cause,
        retryable: cause.retryable,
        details: { failed_step: step.id, removed: removed.map((s) => ({ id: s.id, resource: s.resource, name: s.name })) },
      });
    }
    removed.push(step);
    options.onProgress?.({ step, status: "done" });
  }
  return steps;
}

async function find(clients: AwsClients, names: ProvisioningNames, poolName: string, signal: AbortSignal | undefined): Promise<Found[]> {
  const { iam, ec2, ecs, ecr } = clients;
  const out: Found[] = [];
  const keep = (id: string, resource: string, name: string) =>
    out.push({ id, resource, name, action: "keep", detail: `not tagged ${POOL_TAG}=${poolName}: left alone` });
  const id = await identity(clients, signal);

  // 1. The repository (images in it block the deletion: they are the user's, Ferry does not force it).
  const repos = await callOrNull({ action: "ecr:DescribeRepositories" }, signal, (o) => ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [names.repository] }), o));
  const repo = repos?.repositories?.find((r) => r.repositoryName === names.repository);
  if (repo?.repositoryArn) {
    const arn = repo.repositoryArn;
    const tags = await call({ action: "ecr:ListTagsForResource", target: names.repository }, signal, (o) => ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }), o));
    if (hasPoolTag(tags.tags, poolName)) {
      out.push({
        id: "repository",
        resource: "ECR repository",
        name: names.repository,
        action: "delete",
        remove: async () => {
          await call({ action: "ecr:DeleteRepository", target: names.repository }, signal, (o) => ecr.send(new DeleteRepositoryCommand({ repositoryName: names.repository }), o));
        },
      });
    } else keep("repository", "ECR repository", names.repository);
  }

  // 2. The network: everything tagged for the pool, dependants first.
  const tagged: Filter[] = [{ Name: `tag:${POOL_TAG}`, Values: [poolName] }];
  const groups = (await call({ action: "ec2:DescribeSecurityGroups" }, signal, (o) => ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }), o))).SecurityGroups ?? [];
  for (const g of groups.filter((g) => hasPoolTag(g.Tags, poolName) && g.GroupId)) {
    const groupId = g.GroupId!;
    out.push({
      id: "security-group",
      resource: "security group",
      name: `${g.GroupName ?? ""} (${groupId})`,
      action: "delete",
      remove: async () => {
        await call({ action: "ec2:DeleteSecurityGroup", target: groupId }, signal, (o) => ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }), o));
      },
    });
  }
  const tables = (await call({ action: "ec2:DescribeRouteTables" }, signal, (o) => ec2.send(new DescribeRouteTablesCommand({ Filters: tagged }), o))).RouteTables ?? [];
  for (const t of tables.filter((t) => hasPoolTag(t.Tags, poolName) && t.RouteTableId)) {
    const tableId = t.RouteTableId!;
    const associations = (t.Associations ?? []).filter((a) => !a.Main && a.RouteTableAssociationId).map((a) => a.RouteTableAssociationId!);
    out.push({
      id: "route-table",
      resource: "route table",
      name: tableId,
      action: "delete",
      remove: async () => {
        for (const AssociationId of associations) {
          await callOrNull({ action: "ec2:DisassociateRouteTable", target: tableId }, signal, (o) => ec2.send(new DisassociateRouteTableCommand({ AssociationId }), o));
        }
        await call({ action: "ec2:DeleteRouteTable", target: tableId }, signal, (o) => ec2.send(new DeleteRouteTableCommand({ RouteTableId: tableId }), o));
      },
    });
  }
  const subnets = (await call({ action: "ec2:DescribeSubnets" }, signal, (o) => ec2.send(new DescribeSubnetsCommand({ Filters: tagged }), o))).Subnets ?? [];
  for (const s of subnets.filter((s) => hasPoolTag(s.Tags, poolName) && s.SubnetId)) {
    const subnetId = s.SubnetId!;
    out.push({
      id: "subnet",
      resource: "subnet",
      name: `${subnetId} (${s.AvailabilityZone ?? ""})`,
      action: "delete",
      remove: async () => {
        await call({ action: "ec2:DeleteSubnet", target: subnetId }, signal, (o) => ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }), o));
      },
    });
  }
  const gateways = (await call({ action: "ec2:DescribeInternetGateways" }, signal, (o) => ec2.send(new DescribeInternetGatewaysCommand({ Filters: tagged }), o))).InternetGateways ?? [];
  for (const g of gateways.filter((g) => hasPoolTag(g.Tags, poolName) && g.InternetGatewayId)) {
    const gatewayId = g.InternetGatewayId!;
    const vpcs = (g.Attachments ?? []).flatMap((a) => (a.VpcId ? [a.VpcId] : []));
    out.push({
      id: "internet-gateway",
      resource: "internet gateway",
      name: gatewayId,
      action: "delete",
      remove: async () => {
        for (const VpcId of vpcs) {
          await callOrNull({ action: "ec2:DetachInternetGateway", target: gatewayId }, signal, (o) => ec2.send(new DetachInternetGatewayCommand({ InternetGatewayId: gatewayId, VpcId }), o));
        }
        await call({ action: "ec2:DeleteInternetGateway", target: gatewayId }, signal, (o) => ec2.send(new DeleteInternetGatewayCommand({ InternetGatewayId: gatewayId }), o));
      },
    });
  }
  const vpcs = (await call({ action: "ec2:DescribeVpcs" }, signal, (o) => ec2.send(new DescribeVpcsCommand({ Filters: tagged }), o))).Vpcs ?? [];
  for (const v of vpcs.filter((v) => hasPoolTag(v.Tags, poolName) && v.VpcId && !v.IsDefault)) {
    const vpcId = v.VpcId!;
    out.push({
      id: "vpc",
      resource: "VPC",
      name: `${vpcId} (${v.CidrBlock ?? ""})`,
      action: "delete",
      remove: async () => {
        await call({ action: "ec2:DeleteVpc", target: vpcId }, signal, (o) => ec2.send(new DeleteVpcCommand({ VpcId: vpcId }), o));
      },
    });
  }

  // 3. The cluster.
  const clusters = await call({ action: "ecs:DescribeClusters" }, signal, (o) => ecs.send(new DescribeClustersCommand({ clusters: [names.cluster], include: ["TAGS"] }), o));
  const cluster = clusters.clusters?.find((c) => c.clusterName === names.cluster && c.status === "ACTIVE");
  if (cluster) {
    if (hasPoolTag(cluster.tags, poolName)) {
      out.push({
        id: "cluster",
        resource: "ECS cluster",
        name: names.cluster,
        action: "delete",
        remove: async () => {
          await call({ action: "ecs:DeleteCluster", target: names.cluster }, signal, (o) => ecs.send(new DeleteClusterCommand({ cluster: names.cluster }), o));
        },
      });
    } else keep("cluster", "ECS cluster", names.cluster);
  }

  // 4. IAM: the user's keys and policy, the user, the execution role.
  const user = await callOrNull({ action: "iam:GetUser", target: names.user }, signal, (o) => iam.send(new GetUserCommand({ UserName: names.user }), o));
  const userIsOurs = !!user?.User && hasPoolTag(user.User.Tags, poolName);
  if (user?.User && userIsOurs) {
    const keys = (await call({ action: "iam:ListAccessKeys", target: names.user }, signal, (o) => iam.send(new ListAccessKeysCommand({ UserName: names.user }), o))).AccessKeyMetadata ?? [];
    for (const k of keys.filter((k) => k.AccessKeyId)) {
      const keyId = k.AccessKeyId!;
      out.push({
        id: "access-key",
        resource: "IAM access key",
        name: keyId,
        action: "delete",
        remove: async () => {
          await callOrNull({ action: "iam:DeleteAccessKey", target: keyId }, signal, (o) => iam.send(new DeleteAccessKeyCommand({ UserName: names.user, AccessKeyId: keyId }), o));
        },
      });
    }
  }
  const arn = policyArn(id, names.policy);
  const policy = await callOrNull({ action: "iam:GetPolicy", target: names.policy }, signal, (o) => iam.send(new GetPolicyCommand({ PolicyArn: arn }), o));
  if (policy?.Policy) {
    if (hasPoolTag(policy.Policy.Tags, poolName)) {
      out.push({
        id: "policy",
        resource: "IAM policy",
        name: names.policy,
        action: "delete",
        remove: async () => {
          if (user?.User) {
            await callOrNull({ action: "iam:DetachUserPolicy", target: names.policy }, signal, (o) => iam.send(new DetachUserPolicyCommand({ UserName: names.user, PolicyArn: arn }), o));
          }
          const versions = await call({ action: "iam:ListPolicyVersions", target: names.policy }, signal, (o) => iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }), o));
          for (const v of (versions.Versions ?? []).filter((v) => !v.IsDefaultVersion && v.VersionId)) {
            await call({ action: "iam:DeletePolicyVersion", target: names.policy }, signal, (o) => iam.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: v.VersionId! }), o));
          }
          await call({ action: "iam:DeletePolicy", target: names.policy }, signal, (o) => iam.send(new DeletePolicyCommand({ PolicyArn: arn }), o));
        },
      });
    } else keep("policy", "IAM policy", names.policy);
  }
  if (user?.User) {
    if (userIsOurs) {
      out.push({
        id: "user",
        resource: "IAM user",
        name: names.user,
        action: "delete",
        remove: async () => {
          const attached = await call({ action: "iam:ListAttachedUserPolicies", target: names.user }, signal, (o) => iam.send(new ListAttachedUserPoliciesCommand({ UserName: names.user }), o));
          for (const p of (attached.AttachedPolicies ?? []).filter((p) => p.PolicyArn)) {
            await call({ action: "iam:DetachUserPolicy", target: names.user }, signal, (o) => iam.send(new DetachUserPolicyCommand({ UserName: names.user, PolicyArn: p.PolicyArn! }), o));
          }
          await call({ action: "iam:DeleteUser", target: names.user }, signal, (o) => iam.send(new DeleteUserCommand({ UserName: names.user }), o));
        },
      });
    } else keep("user", "IAM user", names.user);
  }
  const role = await callOrNull({ action: "iam:GetRole", target: names.executionRole }, signal, (o) => iam.send(new GetRoleCommand({ RoleName: names.executionRole }), o));
  if (role?.Role) {
    if (hasPoolTag(role.Role.Tags, poolName)) {
      const roleName = names.executionRole;
      out.push({
        id: "execution-role",
        resource: "IAM role",
        name: roleName,
        action: "delete",
        remove: async () => {
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
      });
    } else keep("execution-role", "IAM role", names.executionRole);
  }
  return out;
}
