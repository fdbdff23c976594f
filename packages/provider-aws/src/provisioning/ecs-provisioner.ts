import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  type ResourceType,
  type TagSpecification,
} from "@aws-sdk/client-ec2";
import { CreateRepositoryCommand, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { CreateClusterCommand } from "@aws-sdk/client-ecs";
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  PutRolePolicyCommand,
} from "@aws-sdk/client-iam";
import { FerryError, isFerryError, type ProvisionInput, type ProvisionProgress, type ProvisionResult, type ProvisionStep, type Provisioner } from "@ferry/core";
import { call, createAwsClients, type AwsClients, type AwsClientsOptions } from "./aws-clients.js";
import { chooseVpcCidr, subnetCidrs } from "./cidr.js";
import { networkNames, resolveNames, type ProvisioningNames } from "./names.js";
import { observe, policyArn, type Identity } from "./observe.js";
import { credentialsName, jobVariableDefaults, planSteps, poolTags, wantedSubnets, type ObservedState, type PlannedStep, type StepId } from "./plan.js";
import { ecsPolicyDocument, EXECUTION_ROLE_LOGS_POLICY_NAME, executionRoleLogsDocument, executionRoleTrustDocument, MANAGED_TASK_EXECUTION_POLICY_ARN } from "./policy.js";

export interface ProvisionedCredentials {
  type: "aws";
  data: Record<string, string>;
}

export interface EcsProvisionerOptions extends AwsClientsOptions {
  /** Clients to use instead of ones made from `region` and `credentials`. */
  clients?: AwsClients;
  /**
   * Stores a new access key the moment it is made, before the next step can fail: a re-run then sees
   * the pool's credentials and makes no second key. When it throws, the key is deleted again.
   */
  saveCredentials?: (credentials: ProvisionedCredentials) => Promise<void>;
}

/** A registry login, held in memory only. */
export interface RegistryLogin {
  registry: string;
  username: string;
  password: string;
  expiresAt: Date | null;
}

interface ApplyContext {
  clients: AwsClients;
  state: ObservedState;
  identity: Identity;
  names: ProvisioningNames;
  poolName: string;
  hasCredentials: boolean;
  options: Record<string, string>;
  signal: AbortSignal | undefined;
  saveCredentials: EcsProvisionerOptions["saveCredentials"];
  /** Set by the steps: a key made by this run, and the registry login. */
  credentials?: ProvisionedCredentials;
  login?: RegistryLogin;
}

/**
 * Provisions what `ecs:push` pools run on, with the user's own AWS identity: execution role, a
 * least-privilege user and its key, a Fargate cluster, a network when the region has no default VPC,
 * and an image repository. Each step is detected and skipped when it exists, so a second run resumes
 * a failed one and changes nothing after a successful one.
 */
export class EcsProvisioner implements Provisioner {
  readonly type = "ecs:push";
  private clientsValue: AwsClients | undefined;
  private login: RegistryLogin | null = null;

  constructor(private readonly options: EcsProvisionerOptions = {}) {}

  /** The last registry login made by `apply`; never written anywhere. */
  get registryLogin(): RegistryLogin | null {
    return this.login;
  }

  private get clients(): AwsClients {
    this.clientsValue ??= this.options.clients ?? createAwsClients(this.options);
    return this.clientsValue;
  }

  async plan(input: ProvisionInput): Promise<ProvisionStep[]> {
    const names = resolveNames(input.options);
    const state = await observe(this.clients, names, input.signal);
    return planSteps(state, { names, poolName: input.poolName, hasCredentials: input.hasCredentials }).map(publicStep);
  }

  async apply(input: ProvisionInput, onProgress: (event: ProvisionProgress) => void): Promise<ProvisionResult> {
    const names = resolveNames(input.options);
    const observed = await observe(this.clients, names, input.signal);
    const ctx: ApplyContext = {
      clients: this.clients,
      state: observed,
      identity: observed.identity,
      names,
      poolName: input.poolName,
      hasCredentials: input.hasCredentials,
      options: input.options,
      signal: input.signal,
      saveCredentials: this.options.saveCredentials,
    };
    const steps = planSteps(observed, { names, poolName: input.poolName, hasCredentials: input.hasCredentials });
    const made: PlannedStep[] = [];
    for (const step of steps) {
      const event = publicStep(step);
      if (input.signal?.aborted) {
        throw failure(new FerryError("provider_error", "provisioning was interrupted", { cause: input.signal.reason, retryable: true }), step, made);
      }
      if (step.action === "exists") {
        onProgress({ step: event, status: "skipped", ...(step.detail ? { message: step.detail } : {}) });
        continue;
      }
      onProgress({ step: event, status: "started" });
      let message: string | undefined;
      try {
        message = await STEPS[step.id](ctx);
      } catch (error) {
        const cause = isFerryError(error) ? error : new FerryError("provider_error", (error as Error)?.message ?? String(error), { cause: error });
        onProgress({ step: event, status: "failed", message: cause.message });
        throw failure(cause, step, made);
      }
      made.push(step);
      onProgress({ step: event, status: "done", ...(message ? { message } : {}) });
    }
    this.login = ctx.login ?? null;
    return result(ctx);
  }
}

function publicStep(step: PlannedStep): ProvisionStep {
  return { id: step.id, resource: step.resource, name: step.name, action: step.action, ...(step.detail ? { detail: step.detail } : {}) };
}

/** Says what failed, what this run made before it, and that a re-run resumes; keeps the cause's code. */
function failure(cause: FerryError, step: PlannedStep, made: PlannedStep[]): FerryError {
  const madeText = made.length ? made.map((s) => `${s.resource} ${s.name}`).join(", ") : "nothing";
  return new FerryError(
    cause.code,
    `provisioning stopped at the ${step.resource} ${step.name}: ${cause.message}. Made by this run before that: ${madeText}. ` +
      "Nothing is rolled back: run the same command again to resume, what exists is detected and skipped.",
    {
      cause,
      retryable: cause.retryable,
      details: { failed_step: step.id, made: made.map((s) => ({ id: s.id, resource: s.resource, name: s.name })) },
    },
  );
}

function result(ctx: ApplyContext): ProvisionResult {
  const { state } = ctx;
  if (!state.executionRole || !state.repository) throw new FerryError("internal", "provisioning ended without an execution role or repository");
  const network =
    state.defaultVpc || !state.vpc
      ? null
      : { vpcId: state.vpc.id, subnets: state.subnets.map((s) => s.id), securityGroups: state.securityGroup ? [state.securityGroup.id] : [] };
  return {
    jobVariableDefaults: jobVariableDefaults({ region: ctx.identity.region, cluster: ctx.names.cluster, executionRoleArn: state.executionRole.arn, network }),
    ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
    profile: { default_image_namespace: state.repository.uri },
  };
}

function iamTags(poolName: string) {
  return poolTags(poolName).map((t) => ({ Key: t.key, Value: t.value }));
}

function ec2Tags(resourceType: ResourceType, poolName: string, name: string): TagSpecification[] {
  return [{ ResourceType: resourceType, Tags: [{ Key: "Name", Value: name }, ...iamTags(poolName)] }];
}

type StepRunner = (ctx: ApplyContext) => Promise<string | undefined>;

const STEPS: Record<StepId, StepRunner> = {
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
    const credentials: ProvisionedCredentials = {
      type: "aws",
      data: { aws_access_key_id: key.AccessKeyId, aws_secret_access_key: key.SecretAccessKey, region_name: ctx.identity.region },
    };
    const save = ctx.saveCredentials;
    if (save) {
      try {
        await save(credentials);
      } catch (error) {
        // A key nobody holds is only a liability, and it counts against the user's two.
        await iam.send(new DeleteAccessKeyCommand({ UserName: user, AccessKeyId: key.AccessKeyId })).catch((deleteError: unknown) => {
          throw new FerryError("provider_error", `could not store the new access key (${(error as Error).message}), and could not delete it either (${(deleteError as Error).message}): delete ${key.AccessKeyId} of ${user} by hand`, { cause: error });
        });
        throw new FerryError("provider_error", `could not store the new access key, so it was deleted again: ${(error as Error).message}`, { cause: error });
      }
    }
    ctx.credentials = credentials;
    if (ctx.state.user) ctx.state.user.accessKeys += 1;
    return `${key.AccessKeyId}, stored as credentials '${credentialsName(ctx.poolName)}'`;
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
    const { ecr } = ctx.clients;
    const name = ctx.names.repository;
    if (!ctx.state.repository) {
      const created = await call({ action: "ecr:CreateRepository", target: `the repository ${name}` }, ctx.signal, (o) =>
        ecr.send(new CreateRepositoryCommand({ repositoryName: name, tags: iamTags(ctx.poolName) }), o),
      );
      const uri = created.repository?.repositoryUri;
      if (!uri) throw new FerryError("provider_error", "ecr:CreateRepository returned no repository URI");
      ctx.state.repository = { uri };
    }
    ctx.login = await registryLogin(ctx);
    return ctx.state.repository.uri;
  },
};

function requireVpc(ctx: ApplyContext): { id: string; cidr: string } {
  if (!ctx.state.vpc) throw new FerryError("internal", "a network step ran before the VPC existed");
  return ctx.state.vpc;
}

/** Logs in to the registry (GetAuthorizationToken); the token stays in this process's memory. */
async function registryLogin(ctx: ApplyContext): Promise<RegistryLogin> {
  const token = await call({ action: "ecr:GetAuthorizationToken", target: "a registry login" }, ctx.signal, (o) => ctx.clients.ecr.send(new GetAuthorizationTokenCommand({}), o));
  const data = token.authorizationData?.[0];
  if (!data?.authorizationToken) throw new FerryError("provider_error", "ecr:GetAuthorizationToken returned no token");
  const [username, ...rest] = Buffer.from(data.authorizationToken, "base64").toString("utf8").split(":");
  return {
    registry: (data.proxyEndpoint ?? "").replace(/^https?:\/\//, "") || (ctx.state.repository?.uri.split("/")[0] ?? ""),
    username: username ?? "AWS",
    password: rest.join(":"),
    expiresAt: data.expiresAt ?? null,
  };
}
