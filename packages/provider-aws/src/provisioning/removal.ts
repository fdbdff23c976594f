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
import type { FoundResource } from "@ferry/provider-kit";
import { call, callOrNull, type AwsClients } from "./aws-clients.js";
import type { ProvisioningNames } from "./names.js";
import { identity, policyArn } from "./observe.js";
import { hasPoolTag, POOL_TAG, type StepId } from "./plan.js";

/**
 * What removal considers, in any order (the kit's engine deletes in the reverse order of creation):
 * everything tagged `ferry:pool=<pool>` (the network pieces, found by the tag), and the resources with
 * the expected names (repository, cluster, IAM), deleted when they carry the pool's tag and kept,
 * with the reason, when they do not. The repository's images block its deletion: they are the user's,
 * Ferry does not force it.
 */
export async function findForRemoval(clients: AwsClients, names: ProvisioningNames, poolName: string, signal: AbortSignal | undefined): Promise<FoundResource[]> {
  const { iam, ec2, ecs, ecr } = clients;
  const out: FoundResource[] = [];
  const keep = (id: StepId, resource: string, name: string) => out.push({ createdBy: id, id, resource, name, owned: false, remove: async () => {} });
  const id = await identity(clients, signal);

  // The repository (images in it block the deletion: they are the user's, Ferry does not force it).
  const repos = await callOrNull({ action: "ecr:DescribeRepositories" }, signal, (o) => ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [names.repository] }), o));
  const repo = repos?.repositories?.find((r) => r.repositoryName === names.repository);
  if (repo?.repositoryArn) {
    const arn = repo.repositoryArn;
    const tags = await call({ action: "ecr:ListTagsForResource", target: names.repository }, signal, (o) => ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }), o));
    if (hasPoolTag(tags.tags, poolName)) {
      out.push({
        createdBy: "repository",
        id: "repository",
        resource: "ECR repository",
        name: names.repository,
        owned: true,
        remove: async () => {
          await call({ action: "ecr:DeleteRepository", target: names.repository }, signal, (o) => ecr.send(new DeleteRepositoryCommand({ repositoryName: names.repository }), o));
        },
      });
    } else keep("repository", "ECR repository", names.repository);
  }

  // The network: everything tagged for the pool, dependants first.
  const tagged: Filter[] = [{ Name: `tag:${POOL_TAG}`, Values: [poolName] }];
  const groups = (await call({ action: "ec2:DescribeSecurityGroups" }, signal, (o) => ec2.send(new DescribeSecurityGroupsCommand({ Filters: tagged }), o))).SecurityGroups ?? [];
  for (const g of groups.filter((g) => hasPoolTag(g.Tags, poolName) && g.GroupId)) {
    const groupId = g.GroupId!;
    out.push({
        createdBy: "security-group",
        id: "security-group",
      resource: "security group",
      name: `${g.GroupName ?? ""} (${groupId})`,
      owned: true,
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
        createdBy: "route-table",
        id: "route-table",
      resource: "route table",
      name: tableId,
      owned: true,
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
        createdBy: "subnets",
        id: "subnet",
      resource: "subnet",
      name: `${subnetId} (${s.AvailabilityZone ?? ""})`,
      owned: true,
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
        createdBy: "internet-gateway",
        id: "internet-gateway",
      resource: "internet gateway",
      name: gatewayId,
      owned: true,
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
        createdBy: "vpc",
        id: "vpc",
      resource: "VPC",
      name: `${vpcId} (${v.CidrBlock ?? ""})`,
      owned: true,
      remove: async () => {
        await call({ action: "ec2:DeleteVpc", target: vpcId }, signal, (o) => ec2.send(new DeleteVpcCommand({ VpcId: vpcId }), o));
      },
    });
  }

  // The cluster.
  const clusters = await call({ action: "ecs:DescribeClusters" }, signal, (o) => ecs.send(new DescribeClustersCommand({ clusters: [names.cluster], include: ["TAGS"] }), o));
  const cluster = clusters.clusters?.find((c) => c.clusterName === names.cluster && c.status === "ACTIVE");
  if (cluster) {
    if (hasPoolTag(cluster.tags, poolName)) {
      out.push({
        createdBy: "cluster",
        id: "cluster",
        resource: "ECS cluster",
        name: names.cluster,
        owned: true,
        remove: async () => {
          await call({ action: "ecs:DeleteCluster", target: names.cluster }, signal, (o) => ecs.send(new DeleteClusterCommand({ cluster: names.cluster }), o));
        },
      });
    } else keep("cluster", "ECS cluster", names.cluster);
  }

  // IAM: the user's keys and policy, the user, the execution role.
  const user = await callOrNull({ action: "iam:GetUser", target: names.user }, signal, (o) => iam.send(new GetUserCommand({ UserName: names.user }), o));
  const userIsOurs = !!user?.User && hasPoolTag(user.User.Tags, poolName);
  if (user?.User && userIsOurs) {
    const keys = (await call({ action: "iam:ListAccessKeys", target: names.user }, signal, (o) => iam.send(new ListAccessKeysCommand({ UserName: names.user }), o))).AccessKeyMetadata ?? [];
    for (const k of keys.filter((k) => k.AccessKeyId)) {
      const keyId = k.AccessKeyId!;
      out.push({
        createdBy: "access-key",
        id: "access-key",
        resource: "IAM access key",
        name: keyId,
        owned: true,
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
        createdBy: "policy",
        id: "policy",
        resource: "IAM policy",
        name: names.policy,
        owned: true,
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
        createdBy: "user",
        id: "user",
        resource: "IAM user",
        name: names.user,
        owned: true,
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
        createdBy: "execution-role",
        id: "execution-role",
        resource: "IAM role",
        name: roleName,
        owned: true,
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
