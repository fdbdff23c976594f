import { randomBytes } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";

/** Everything the server knows, as plain JSON so that a state file can carry it across restarts. */
export interface AwsLocalStateData {
  version: 1;
  /** Labels this server's containers, so a restarted server finds its tasks and no other server's. */
  serverId: string;
  /** Whether each region has a default VPC (created the first time a region is used). */
  defaultVpc: boolean;
  iam: IamState;
  regions: Record<string, RegionState>;
}

export type Tags = Record<string, string>;

export interface IamState {
  roles: Record<string, IamRole>;
  users: Record<string, IamUser>;
  /** By ARN. */
  policies: Record<string, IamPolicy>;
  /** By access key id. */
  accessKeys: Record<string, IamAccessKey>;
}

export interface IamRole {
  name: string;
  id: string;
  arn: string;
  path: string;
  createDate: string;
  assumeRolePolicyDocument: string;
  description?: string;
  maxSessionDuration: number;
  tags: Tags;
  attachedPolicies: string[];
  inlinePolicies: Record<string, string>;
}

export interface IamUser {
  name: string;
  id: string;
  arn: string;
  path: string;
  createDate: string;
  tags: Tags;
  attachedPolicies: string[];
}

export interface IamPolicy {
  name: string;
  id: string;
  arn: string;
  path: string;
  description?: string;
  createDate: string;
  updateDate: string;
  tags: Tags;
  defaultVersionId: string;
  versions: { versionId: string; document: string; createDate: string }[];
}

export interface IamAccessKey {
  id: string;
  secret: string;
  userName: string;
  status: "Active" | "Inactive";
  createDate: string;
}

export interface RegionState {
  ec2: Ec2State;
  ecs: EcsState;
  ecr: { repositories: Record<string, EcrRepository> };
  logs: { groups: Record<string, LogGroup> };
}

export interface Ec2State {
  /** The default VPC was made for this region (and not recreated after a user deletes it). */
  defaultVpcCreated: boolean;
  vpcs: Record<string, Vpc>;
  subnets: Record<string, Subnet>;
  internetGateways: Record<string, InternetGateway>;
  routeTables: Record<string, RouteTable>;
  securityGroups: Record<string, SecurityGroup>;
}

export interface Vpc {
  id: string;
  cidrBlock: string;
  isDefault: boolean;
  instanceTenancy: string;
  tags: Tags;
}

export interface Subnet {
  id: string;
  vpcId: string;
  cidrBlock: string;
  availabilityZone: string;
  mapPublicIpOnLaunch: boolean;
  defaultForAz: boolean;
  tags: Tags;
}

export interface InternetGateway {
  id: string;
  vpcId: string | null;
  tags: Tags;
}

export interface Route {
  destinationCidrBlock: string;
  gatewayId: string;
  origin: "CreateRouteTable" | "CreateRoute";
}

export interface RouteTable {
  id: string;
  vpcId: string;
  main: boolean;
  routes: Route[];
  associations: { id: string; subnetId: string }[];
  tags: Tags;
}

export interface SecurityGroupRule {
  id: string;
  egress: boolean;
  ipProtocol: string;
  fromPort?: number;
  toPort?: number;
  cidrIp?: string;
  groupId?: string;
  description?: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  vpcId: string;
  rules: SecurityGroupRule[];
  tags: Tags;
}

export interface EcsState {
  clusters: Record<string, EcsCluster>;
  /** By ARN. */
  taskDefinitions: Record<string, EcsTaskDefinition>;
  /** The last revision of each family, so a revision number is never reused. */
  families: Record<string, number>;
  /** By ARN. */
  tasks: Record<string, EcsTask>;
  /** RunTask's `clientToken` → the ARNs of the tasks it started. */
  clientTokens: Record<string, string[]>;
}

export interface EcsCluster {
  name: string;
  arn: string;
  status: "ACTIVE" | "INACTIVE";
  tags: Tags;
}

/** A task definition: the registered request as given, plus what ECS adds. */
export interface EcsTaskDefinition {
  arn: string;
  family: string;
  revision: number;
  /** DELETE_IN_PROGRESS after DeleteTaskDefinitions: AWS keeps it while tasks still use it. */
  status: "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS";
  registeredAt: number;
  deregisteredAt?: number;
  tags: Tags;
  /** The RegisterTaskDefinition request, minus `tags`. */
  definition: EcsTaskDefinitionInput;
}

export interface EcsTaskDefinitionInput {
  family: string;
  containerDefinitions: EcsContainerDefinition[];
  taskRoleArn?: string;
  executionRoleArn?: string;
  networkMode?: string;
  requiresCompatibilities?: string[];
  cpu?: string;
  memory?: string;
  [more: string]: unknown;
}

export interface EcsContainerDefinition {
  name: string;
  image: string;
  essential?: boolean;
  command?: string[];
  entryPoint?: string[];
  environment?: { name: string; value: string }[];
  memory?: number;
  memoryReservation?: number;
  cpu?: number;
  workingDirectory?: string;
  user?: string;
  stopTimeout?: number;
  linuxParameters?: { initProcessEnabled?: boolean };
  logConfiguration?: { logDriver: string; options?: Record<string, string> };
  [more: string]: unknown;
}

export interface EcsContainerOverride {
  name?: string;
  command?: string[];
  environment?: { name: string; value: string }[];
  memory?: number;
  cpu?: number;
}

export interface EcsTaskOverrides {
  containerOverrides?: EcsContainerOverride[];
  cpu?: string;
  memory?: string;
  taskRoleArn?: string;
  executionRoleArn?: string;
  [more: string]: unknown;
}

export type EcsTaskStatus = "PROVISIONING" | "PENDING" | "RUNNING" | "DEPROVISIONING" | "STOPPED";

export interface EcsTask {
  arn: string;
  id: string;
  region: string;
  clusterArn: string;
  taskDefinitionArn: string;
  lastStatus: EcsTaskStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  launchType?: string;
  cpu?: string;
  memory?: string;
  group?: string;
  startedBy?: string;
  createdAt: number;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  stoppingAt?: number;
  stoppedAt?: number;
  executionStoppedAt?: number;
  stopCode?: "TaskFailedToStart" | "EssentialContainerExited" | "UserInitiated" | "ServiceSchedulerInitiated";
  stoppedReason?: string;
  overrides: EcsTaskOverrides;
  tags: Tags;
  networkConfiguration?: unknown;
  availabilityZone?: string;
  eniAttachmentId?: string;
  containers: EcsTaskContainer[];
  version: number;
}

export interface EcsTaskContainer {
  name: string;
  arn: string;
  image: string;
  lastStatus: EcsTaskStatus;
  exitCode?: number;
  reason?: string;
  runtimeId?: string;
}

export interface EcrRepository {
  name: string;
  arn: string;
  uri: string;
  createdAt: number;
  imageTagMutability: string;
  scanOnPush: boolean;
  tags: Tags;
}

export interface LogGroup {
  name: string;
  arn: string;
  creationTime: number;
  retentionInDays?: number;
  tags: Tags;
  streams: Record<string, LogStream>;
}

export interface LogStream {
  name: string;
  creationTime: number;
  events: { timestamp: number; message: string; ingestionTime: number }[];
}

export function emptyState(defaultVpc: boolean, serverId = ids.hex(12)): AwsLocalStateData {
  return { version: 1, serverId, defaultVpc, iam: { roles: {}, users: {}, policies: {}, accessKeys: {} }, regions: {} };
}

function emptyRegion(): RegionState {
  return {
    ec2: { defaultVpcCreated: false, vpcs: {}, subnets: {}, internetGateways: {}, routeTables: {}, securityGroups: {} },
    ecs: { clusters: {}, taskDefinitions: {}, families: {}, tasks: {}, clientTokens: {} },
    ecr: { repositories: {} },
    logs: { groups: {} },
  };
}

/**
 * The server's state. Regional services (EC2, ECS, ECR, Logs) keep one partition per region, as AWS
 * does; IAM is global. With a state file, every change is written through (atomically, by rename).
 */
export class AwsLocalState {
  data: AwsLocalStateData;

  constructor(
    private readonly file: string | null,
    private readonly defaultVpc: boolean,
  ) {
    this.data = file === null ? emptyState(defaultVpc) : loadState(file, defaultVpc);
  }

  region(name: string): RegionState {
    return (this.data.regions[name] ??= emptyRegion());
  }

  reset(): void {
    this.data = emptyState(this.defaultVpc, this.data.serverId);
    this.save();
  }

  private pending: NodeJS.Timeout | null = null;

  /** For frequent small changes (log lines): one write a little later instead of one per change. */
  saveSoon(): void {
    if (this.file === null || this.pending !== null) return;
    this.pending = setTimeout(() => this.save(), 100);
    this.pending.unref();
  }

  save(): void {
    if (this.pending !== null) clearTimeout(this.pending);
    this.pending = null;
    if (this.file === null) return;
    const temp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(this.data));
    renameSync(temp, this.file);
  }
}

function loadState(file: string, defaultVpc: boolean): AwsLocalStateData {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyState(defaultVpc);
    throw error;
  }
  const data = JSON.parse(text) as AwsLocalStateData;
  if (data.version !== 1) throw new Error(`aws-local: state file ${file} has version ${String(data.version)}, expected 1`);
  return data;
}

const UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** Identifiers shaped like AWS's: `vpc-0a1b…`, `AROA…`, `AKIA…`. */
export const ids = {
  hex(length: number): string {
    return randomBytes(Math.ceil(length / 2)).toString("hex").slice(0, length);
  },
  ec2(prefix: string): string {
    return `${prefix}-${ids.hex(17)}`;
  },
  upper(prefix: string, length: number): string {
    const bytes = randomBytes(length);
    let out = prefix;
    for (let i = 0; i < length; i++) out += UPPER_ALNUM[bytes[i]! % UPPER_ALNUM.length];
    return out;
  },
  secret(): string {
    return randomBytes(30).toString("base64").replace(/[+/=]/g, "x").slice(0, 40);
  },
};
