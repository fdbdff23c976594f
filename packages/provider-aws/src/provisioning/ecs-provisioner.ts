import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  type ResourceType,
  type TagSpecification,
} from "@aws-sdk/client-ec2";
import { CreateRepositoryCommand, TagResourceCommand as TagRepositoryCommand } from "@aws-sdk/client-ecr";
import { CreateClusterCommand, TagResourceCommand as TagClusterCommand } from "@aws-sdk/client-ecs";
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  PutRolePolicyCommand,
  TagPolicyCommand,
  TagRoleCommand,
  TagUserCommand,
} from "@aws-sdk/client-iam";
import { FerryError, type Provisioner } from "@ferry/core";
import { defineProvisioner, type StepContext } from "@ferry/provider-kit";
import { AWS_CREDENTIAL_TYPE } from "../credentials.js";
import { call, createAwsClients, destroyAwsClients, type AwsClients, type AwsClientsOptions } from "./aws-clients.js";
import { chooseVpcCidr, subnetCidrs } from "./cidr.js";
import { ECS_PROVISION_OPTIONS, networkNames, resolveNames, type ProvisioningNames } from "./names.js";
import { observe, policyArn, type Identity } from "./observe.js";
import {
  ACCESS_KEY_TAG_PREFIX,
  basePlan,
  credentialsName,
  jobVariableDefaults,
  planSteps,
  POOL_TAG,
  poolTags,
  poolUsesTag,
  STEP_IDS,
  toAdopt,
  wantedSubnets,
  type ObservedState,
  type StepId,
} from "./plan.js";
import { ecsPolicyDocument, EXECUTION_ROLE_LOGS_POLICY_NAME, executionRoleLogsDocument, executionRoleTrustDocument, MANAGED_TASK_EXECUTION_POLICY_ARN } from "./policy.js";
import { findForRemoval } from "./removal.js";

/** The account as observed, with the caller's identity and the names the options give; the steps update it. */
export type EcsState = ObservedState & { identity: Identity; names: ProvisioningNames };

/** How the provisioner reaches AWS: `endpoint` (a local stand-in) and, for tests, `credentials`; the region is an option. */
export type EcsProvisionerOptions = Omit<AwsClientsOptions, "region">;

/**
 * Provisions what `ecs:push` pools run on, with the user's own AWS identity: execution role, a
 * least-privilege user and its key, a Fargate cluster, a network when the region has no default VPC,
 * and an image repository. Written on the kit's step engine: every step is observed first and skipped
 * when it exists, so a second run resumes a failed one and changes nothing after a successful one;
 * removal deletes what carries `ferry:pool=<pool>`, in the reverse order.
 */
export function createEcsProvisioner(options: EcsProvisionerOptions = {}): Provisioner {
  return defineProvisioner<AwsClients, EcsState>({
    type: "ecs:push",
    optionsSchema: ECS_PROVISION_OPTIONS,
    creationOrder: STEP_IDS,
    poolTag: (pool) => `${POOL_TAG}=${pool}`,
    open: async (checked) => createAwsClients({ ...options, ...(checked.region ? { region: checked.region } : {}) }),
    close: destroyAwsClients,
    observe: async (clients, input) => {
      const names = resolveNames(input.options);
      return { ...(await observe(clients, names, input.signal)), names };
    },
    plan: (state, input) => planSteps(state, { names: state.names, poolName: input.poolName, hasCredentials: input.hasCredentials }),
    steps: Object.fromEntries(STEP_IDS.map((id) => [id, (ctx: StepContext<AwsClients, EcsState>) => runStep(id, ctx)])),
    result,
    findForRemoval: (clients, input) => findForRemoval(clients, resolveNames(input.options), input.poolName, input.signal),
    // Where provisioning made the pool's resources, from the defaults it wrote (jobVariableDefaults):
    // removal looks in that region even when the user's AWS configuration now points elsewhere.
    optionsFromPool: (defaults) => ({
      ...(typeof defaults.region === "string" ? { region: defaults.region } : {}),
      ...(typeof defaults.cluster === "string" ? { cluster_name: defaults.cluster } : {}),
    }),
  });
}

/** What a step works with. */
interface Ctx {
  clients: AwsClients;
  state: EcsState;
  identity: Identity;
  names: ProvisioningNames;
  poolName: string;
  options: Record<string, string>;
  signal: AbortSignal | undefined;
  credentialsMade: StepContext<AwsClients, EcsState>["credentialsMade"];
}

function contextOf(ctx: StepContext<AwsClients, EcsState>): Ctx {
  return {
    clients: ctx.session,
    state: ctx.state,
    identity: ctx.state.identity,
    names: ctx.state.names,
    poolName: ctx.input.poolName,
    options: ctx.input.options,
    signal: ctx.input.signal,
    credentialsMade: ctx.credentialsMade,
  };
}

/**
 * A step: first tags what Ferry made for other pools as used by this pool too (so removing one of
 * them leaves it), then makes what is missing; a step whose resource is all there only tags.
 */
async function runStep(id: StepId, ctx: StepContext<AwsClients, EcsState>): Promise<string | undefined> {
  const c = contextOf(ctx);
  const adopted = await adopt(c, id);
  const base = basePlan(ctx.state, { names: ctx.state.names, poolName: ctx.input.poolName, hasCredentials: ctx.input.hasCredentials }).find((s) => s.id === id);
  if (base?.action === "exists") return adopted;
  return STEPS[id](c);
}

async function adopt(ctx: Ctx, id: StepId): Promise<string | undefined> {
  const shared = toAdopt(ctx.state, id, ctx.poolName);
  if (!shared.length) return undefined;
  const key = poolUsesTag(ctx.poolName);
  const { iam, ecs, ecr, ec2 } = ctx.clients;
  const ids = shared.map((r) => r.id);
  const target = ids.join(", ");
  if (id === "execution-role") {
    await call({ action: "iam:TagRole", target }, ctx.signal, (o) => iam.send(new TagRoleCommand({ RoleName: ids[0], Tags: [{ Key: key, Value: "true" }] }), o));
  } else if (id === "user") {
    await call({ action: "iam:TagUser", target }, ctx.signal, (o) => iam.send(new TagUserCommand({ UserName: ids[0], Tags: [{ Key: key, Value: "true" }] }), o));
  } else if (id === "policy") {
    await call({ action: "iam:TagPolicy", target }, ctx.signal, (o) => iam.send(new TagPolicyCommand({ PolicyArn: ids[0], Tags: [{ Key: key, Value: "true" }] }), o));
  } else if (id === "cluster") {
    await call({ action: "ecs:TagResource", target }, ctx.signal, (o) => ecs.send(new TagClusterCommand({ resourceArn: ids[0], tags: [{ key, value: "true" }] }), o));
  } else if (id === "repository") {
    await call({ action: "ecr:TagResource", target }, ctx.signal, (o) => ecr.send(new TagRepositoryCommand({ resourceArn: ids[0], tags: [{ Key: key, Value: "true" }] }), o));
  } else if (id !== "access-key") {
    await call({ action: "ec2:CreateTags", target }, ctx.signal, (o) => ec2.send(new CreateTagsCommand({ Resources: ids, Tags: [{ Key: key, Value: "true" }] }), o));
  }
  for (const r of shared) r.tags[key] = "true";
  return `tagged as used by pool '${ctx.poolName}' too`;
}

function result(state: EcsState) {
  if (!state.executionRole || !state.repository) throw new FerryError("internal", "provisioning ended without an execution role or repository");
  const network =
    state.defaultVpc || !state.vpc
      ? null
      : { vpcId: state.vpc.id, subnets: state.subnets.map((s) => s.id), securityGroups: state.securityGroup ? [state.securityGroup.id] : [] };
  return {
    jobVariableDefaults: jobVariableDefaults({ region: state.identity.region, cluster: state.names.cluster, executionRoleArn: state.executionRole.arn, network }),
    profile: { default_image_namespace: state.repository.uri },
  };
}

function iamTags(poolName: string) {
  return poolTags(poolName).map((t) => ({ Key: t.key, Value: t.value }));
}

function ec2Tags(resourceType: ResourceType, poolName: string, name: string): TagSpecification[] {
  return [{ ResourceType: resourceType, Tags: [{ Key: "Name", Value: name }, ...iamTags(poolName)] }];
}

const STEPS: Record<StepId, (ctx: Ctx) => Promise<string | undefined>> = {
  async "execution-role"(ctx) {
    const { iam } = ctx.clients;
    const name = ctx.names.executionRole;
    const target = `the execution role ${name}`;
    let role = ctx.state.executionRole;
    if (!role) {
      const created = await call({ action: "iam:CreateRole", target }, ctx.signal, (o) =>
        iam.send(
          new CreateRoleCommand({
            RoleName: name,
            AssumeRolePolicyDocument: JSON.stringify(executionRoleTrustDocument()),
            Description: "Lets ECS pull images and write logs for Ferry's ecs:push runs",
            Tags: iamTags(ctx.poolName),
          }),
          o,
        ),
      );
      if (!created.Role?.Arn) throw new FerryError("provider_error", `iam:CreateRole returned no ARN for ${name}`);
      role = { arn: created.Role.Arn, managedPolicyAttached: false, logsPolicy: false };
      ctx.state.executionRole = role;
    }
    if (!role.managedPolicyAttached) {
      const managed = MANAGED_TASK_EXECUTION_POLICY_ARN.replace(":aws:", `:${ctx.identity.partition}:`);
      await call({ action: "iam:AttachRolePolicy", target }, ctx.signal, (o) => iam.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: managed }), o));
      role.managedPolicyAttached = true;
    }
    if (!role.logsPolicy) {
      await call({ action: "iam:PutRolePolicy", target }, ctx.signal, (o) =>
        iam.send(
          new PutRolePolicyCommand({ RoleName: name, PolicyName: EXECUTION_ROLE_LOGS_POLICY_NAME, PolicyDocument: JSON.stringify(executionRoleLogsDocument(ctx.identity.accountId)) }),
          o,
        ),
      );
      role.logsPolicy = true;
    }
    return role.arn;
  },

  async user(ctx) {
    const name = ctx.names.user;
    const created = await call({ action: "iam:CreateUser", target: `the IAM user ${name}` }, ctx.signal, (o) =>
      ctx.clients.iam.send(new CreateUserCommand({ UserName: name, Tags: iamTags(ctx.poolName) }), o),
    );
    ctx.state.user = { arn: created.User?.Arn ?? "", accessKeys: 0 };
    return ctx.state.user.arn || undefined;
  },

  async policy(ctx) {
    const { iam } = ctx.clients;
    const target = `the IAM policy ${ctx.names.policy}`;
    let policy = ctx.state.policy;
    if (!policy) {
      const role = ctx.state.executionRole;
      if (!role) throw new FerryError("internal", "the policy step ran before the execution role existed");
      const document = ecsPolicyDocument(ctx.identity.accountId, role.arn, ctx.options.task_role_arn ? { taskRoleArn: ctx.options.task_role_arn } : {});
      const created = await call({ action: "iam:CreatePolicy", target }, ctx.signal, (o) =>
        iam.send(
          new CreatePolicyCommand({
            PolicyName: ctx.names.policy,
            PolicyDocument: JSON.stringify(document),
            Description: "What Ferry's ecs:push runs call: ECS tasks, network reads, logs, PassRole on the execution role",
            Tags: iamTags(ctx.poolName),
          }),
          o,
        ),
      );
      policy = { arn: created.Policy?.Arn ?? policyArn(ctx.identity, ctx.names.policy), attachedToUser: false };
      ctx.state.policy = policy;
    }
    if (!policy.attachedToUser) {
      const arn = policy.arn;
      await call({ action: "iam:AttachUserPolicy", target }, ctx.signal, (o) => iam.send(new AttachUserPolicyCommand({ UserName: ctx.names.user, PolicyArn: arn }), o));
      policy.attachedToUser = true;
    }
    return policy.arn;
  },

  async "access-key"(ctx) {
    const { iam } = ctx.clients;
    const user = ctx.names.user;
    const created = await call({ action: "iam:CreateAccessKey", target: `an access key for ${user}` }, ctx.signal, (o) => iam.send(new CreateAccessKeyCommand({ UserName: user }), o));
    const key = created.AccessKey;
    if (!key?.AccessKeyId || !key.SecretAccessKey) throw new FerryError("provider_error", "iam:CreateAccessKey returned no key");
    const keyId = key.AccessKeyId;
    try {
      // Which key is this pool's: removing the pool deletes it, and no other pool's key, when the user stays.
      await call({ action: "iam:TagUser", target: user }, ctx.signal, (o) => iam.send(new TagUserCommand({ UserName: user, Tags: [{ Key: `${ACCESS_KEY_TAG_PREFIX}${ctx.poolName}`, Value: keyId }] }), o));
    } catch (error) {
      // A key no pool is known to hold is only a liability: delete it again, or say it must be.
      try {
        await call({ action: "iam:DeleteAccessKey", target: keyId }, undefined, (o) => iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: keyId }), o));
      } catch (discardError) {
        throw new FerryError("provider_error", `could not record the new access key ${keyId} on ${user} (${(error as Error).message}), nor delete it (${(discardError as Error).message}): delete ${keyId} of ${user} by hand`, {
          cause: error,
        });
      }
      throw error;
    }
    await ctx.credentialsMade(
      { type: AWS_CREDENTIAL_TYPE.type, data: { aws_access_key_id: keyId, aws_secret_access_key: key.SecretAccessKey, region_name: ctx.identity.region } },
      {
        // A key nobody holds is only a liability, and it counts against the user's two.
        description: "the new access key",
        discard: async () => {
          await call({ action: "iam:DeleteAccessKey", target: keyId }, undefined, (o) => iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: keyId }), o));
        },
        manualFix: `delete ${keyId} of ${user} by hand`,
      },
    );
    if (ctx.state.user) {
      ctx.state.user.accessKeys += 1;
      ctx.state.user.accessKeyIds = [...(ctx.state.user.accessKeyIds ?? []), keyId];
    }
    return `${keyId}, stored as credentials '${credentialsName(ctx.poolName)}'`;
  },

  async cluster(ctx) {
    const created = await call({ action: "ecs:CreateCluster", target: `the cluster ${ctx.names.cluster}` }, ctx.signal, (o) =>
      ctx.clients.ecs.send(
        new CreateClusterCommand({
          clusterName: ctx.names.cluster,
          capacityProviders: ["FARGATE", "FARGATE_SPOT"],
          defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }],
          tags: poolTags(ctx.poolName),
        }),
        o,
      ),
    );
    ctx.state.cluster = { arn: created.cluster?.clusterArn ?? ctx.names.cluster };
    return ctx.state.cluster.arn;
  },

  async vpc(ctx) {
    const cidr = chooseVpcCidr(ctx.state.vpcCidrs);
    const created = await call({ action: "ec2:CreateVpc", target: `the VPC ${ctx.names.vpc}` }, ctx.signal, (o) =>
      ctx.clients.ec2.send(new CreateVpcCommand({ CidrBlock: cidr, TagSpecifications: ec2Tags("vpc", ctx.poolName, ctx.names.vpc) }), o),
    );
    const id = created.Vpc?.VpcId;
    if (!id) throw new FerryError("provider_error", "ec2:CreateVpc returned no VPC id");
    ctx.state.vpc = { id, cidr };
    ctx.state.vpcCidrs.push(cidr);
    return `${id} (${cidr})`;
  },

  async "internet-gateway"(ctx) {
    const { ec2 } = ctx.clients;
    const vpc = requireVpc(ctx);
    const name = networkNames(ctx.names.vpc).internetGateway;
    let gateway = ctx.state.internetGateway;
    if (!gateway) {
      const created = await call({ action: "ec2:CreateInternetGateway", target: name }, ctx.signal, (o) =>
        ec2.send(new CreateInternetGatewayCommand({ TagSpecifications: ec2Tags("internet-gateway", ctx.poolName, name) }), o),
      );
      const id = created.InternetGateway?.InternetGatewayId;
      if (!id) throw new FerryError("provider_error", "ec2:CreateInternetGateway returned no id");
      gateway = { id, attached: false };
      ctx.state.internetGateway = gateway;
    }
    if (!gateway.attached) {
      const id = gateway.id;
      await call({ action: "ec2:AttachInternetGateway", target: name }, ctx.signal, (o) => ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: vpc.id }), o));
      gateway.attached = true;
    }
    return gateway.id;
  },

  async subnets(ctx) {
    const vpc = requireVpc(ctx);
    const net = networkNames(ctx.names.vpc);
    const usedZones = new Set(ctx.state.subnets.map((s) => s.zone));
    const usedCidrs = new Set(ctx.state.subnets.map((s) => s.cidr));
    const wanted = wantedSubnets(ctx.state);
    const zones = ctx.state.zones.filter((z) => !usedZones.has(z)).slice(0, Math.max(0, wanted - usedZones.size));
    if (!ctx.state.zones.length) throw new FerryError("provider_error", `the region ${ctx.identity.region} reports no available availability zones`);
    const free = subnetCidrs(vpc.cidr, 16).filter((c) => !usedCidrs.has(c));
    const made: string[] = [];
    for (const [i, zone] of zones.entries()) {
      const cidr = free[i];
      if (!cidr) throw new FerryError("provider_quota", `no free /20 left in ${vpc.cidr} for a subnet in ${zone}`);
      const created = await call({ action: "ec2:CreateSubnet", target: `a subnet in ${zone}` }, ctx.signal, (o) =>
        ctx.clients.ec2.send(
          new CreateSubnetCommand({ VpcId: vpc.id, CidrBlock: cidr, AvailabilityZone: zone, TagSpecifications: ec2Tags("subnet", ctx.poolName, net.subnet(zone)) }),
          o,
        ),
      );
      const id = created.Subnet?.SubnetId;
      if (!id) throw new FerryError("provider_error", "ec2:CreateSubnet returned no id");
      ctx.state.subnets.push({ id, zone, cidr });
      made.push(id);
    }
    return made.join(", ");
  },

  async "route-table"(ctx) {
    const { ec2 } = ctx.clients;
    const vpc = requireVpc(ctx);
    const name = networkNames(ctx.names.vpc).routeTable;
    let table = ctx.state.routeTable;
    if (!table) {
      const created = await call({ action: "ec2:CreateRouteTable", target: name }, ctx.signal, (o) =>
        ec2.send(new CreateRouteTableCommand({ VpcId: vpc.id, TagSpecifications: ec2Tags("route-table", ctx.poolName, name) }), o),
      );
      const id = created.RouteTable?.RouteTableId;
      if (!id) throw new FerryError("provider_error", "ec2:CreateRouteTable returned no id");
      table = { id, defaultRoute: false, associatedSubnets: [] };
      ctx.state.routeTable = table;
    }
    const tableId = table.id;
    if (!table.defaultRoute) {
      const gateway = ctx.state.internetGateway;
      if (!gateway) throw new FerryError("internal", "the route table step ran before the internet gateway existed");
      await call({ action: "ec2:CreateRoute", target: name }, ctx.signal, (o) =>
        ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: "0.0.0.0/0", GatewayId: gateway.id }), o),
      );
      table.defaultRoute = true;
    }
    for (const subnet of ctx.state.subnets) {
      if (table.associatedSubnets.includes(subnet.id)) continue;
      await call({ action: "ec2:AssociateRouteTable", target: name }, ctx.signal, (o) => ec2.send(new AssociateRouteTableCommand({ RouteTableId: tableId, SubnetId: subnet.id }), o));
      table.associatedSubnets.push(subnet.id);
    }
    return tableId;
  },

  async "security-group"(ctx) {
    const vpc = requireVpc(ctx);
    const name = networkNames(ctx.names.vpc).securityGroup;
    // A new group allows all outbound traffic and no inbound: what a run needs (pull images, call Ferry).
    const created = await call({ action: "ec2:CreateSecurityGroup", target: name }, ctx.signal, (o) =>
      ctx.clients.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: "Ferry ecs:push runs: no inbound, all outbound",
          VpcId: vpc.id,
          TagSpecifications: ec2Tags("security-group", ctx.poolName, name),
        }),
        o,
      ),
    );
    if (!created.GroupId) throw new FerryError("provider_error", "ec2:CreateSecurityGroup returned no id");
    ctx.state.securityGroup = { id: created.GroupId };
    return created.GroupId;
  },

  async repository(ctx) {
    const name = ctx.names.repository;
    const created = await call({ action: "ecr:CreateRepository", target: `the repository ${name}` }, ctx.signal, (o) =>
      ctx.clients.ecr.send(new CreateRepositoryCommand({ repositoryName: name, tags: iamTags(ctx.poolName) }), o),
    );
    const uri = created.repository?.repositoryUri;
    if (!uri) throw new FerryError("provider_error", "ecr:CreateRepository returned no repository URI");
    ctx.state.repository = { uri };
    return uri;
  },
};

function requireVpc(ctx: Ctx): { id: string; cidr: string } {
  if (!ctx.state.vpc) throw new FerryError("internal", "a network step ran before the VPC existed");
  return ctx.state.vpc;
}
