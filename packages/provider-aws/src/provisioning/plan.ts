import { FerryError, type ProvisionStep } from "@ferry/core";
import { chooseVpcCidr } from "./cidr.js";
import { networkNames, type ProvisioningNames } from "./names.js";

/** AWS allows two access keys per IAM user. */
export const MAX_ACCESS_KEYS = 2;
export const AVAILABILITY_ZONES = 3;

/** What provisioning found in the account: the input of the plan, read by Get/Describe/List calls only. */
export interface ObservedState {
  accountId: string;
  region: string;
  executionRole: { arn: string; managedPolicyAttached: boolean; logsPolicy: boolean } | null;
  /** `accessKeyIds`: every key of the user, so a plan that cannot make one more can name them. */
  user: { arn: string; accessKeys: number; accessKeyIds?: string[] } | null;
  policy: { arn: string; attachedToUser: boolean } | null;
  cluster: { arn: string } | null;
  /** The region's default VPC: when there is one, nothing is made for the network. */
  defaultVpc: { id: string } | null;
  /** The VPC named `vpc_name` and what hangs off it. */
  vpc: { id: string; cidr: string } | null;
  internetGateway: { id: string; attached: boolean } | null;
  subnets: { id: string; zone: string; cidr: string }[];
  routeTable: { id: string; defaultRoute: boolean; associatedSubnets: string[] } | null;
  securityGroup: { id: string } | null;
  /** IPv4 CIDRs of every VPC in the region, to pick one that overlaps none. */
  vpcCidrs: string[];
  /** Zones a subnet may go in, in the region's order. */
  zones: string[];
  repository: { uri: string } | null;
  /**
   * The tags of what exists, by the step that makes it (`id`: what a tag call names: a role or user
   * name, an ARN, an EC2 id). A resource Ferry made for another pool is shared: the pool tags it as
   * used by it too, and removal deletes it only once no pool uses it any more.
   */
  tags?: Partial<Record<StepId, { id: string; tags: Record<string, string> }[]>>;
}

/** Every step, in the order of creation (removal goes the other way). */
export const STEP_IDS = [
  "execution-role",
  "user",
  "policy",
  "access-key",
  "cluster",
  "vpc",
  "internet-gateway",
  "subnets",
  "route-table",
  "security-group",
  "repository",
] as const;

export type StepId = (typeof STEP_IDS)[number];

export interface PlannedStep extends ProvisionStep {
  id: StepId;
}

export interface PlanContext {
  names: ProvisioningNames;
  poolName: string;
  hasCredentials: boolean;
}

/**
 * Every step of provisioning, in order, each `create` (something will be made or attached) or
 * `exists` (nothing to do). Pure: the same state always gives the same plan.
 */
export function planSteps(state: ObservedState, context: PlanContext): PlannedStep[] {
  const { names, poolName, hasCredentials } = context;
  const keys = state.user?.accessKeyIds ?? [];
  if (!hasCredentials && state.user && state.user.accessKeys >= MAX_ACCESS_KEYS) {
    // CreateAccessKey would fail half-way through; say now what to do instead, before anything is made.
    const named = keys.length ? ` (${keys.join(", ")})` : "";
    throw new FerryError(
      "provider_quota",
      `the IAM user ${names.user} already has ${state.user.accessKeys} access keys${named}, the most AWS allows, and pool '${poolName}' has no credentials, so provisioning would need a third. ` +
        `Fix: delete a key nobody uses ('aws iam delete-access-key --user-name ${names.user} --access-key-id ${keys[0] ?? "KEY_ID"}'), ` +
        `or give the pool credentials holding one of these keys ('ferry credentials create', then --credentials NAME), then run again`,
      { details: { user: names.user, access_keys: keys } },
    );
  }
  return basePlan(state, context).map((step) => {
    const shared = toAdopt(state, step.id, poolName);
    if (step.action !== "exists" || !shared.length) return step;
    const others = [...new Set(shared.flatMap((r) => holdersOf(r.tags)))];
    return { ...step, action: "create" as const, detail: `made by Ferry${others.length ? ` for pool ${others.map((o) => `'${o}'`).join(", ")}` : ""}: tag it as used by pool '${poolName}' too` };
  });
}

/**
 * The steps without the pool's tags on shared resources: what each step makes or attaches. A step's
 * runner asks it whether its resource is there already (then only tags it).
 */
export function basePlan(state: ObservedState, { names, poolName, hasCredentials }: PlanContext): PlannedStep[] {
  const steps: PlannedStep[] = [];
  const add = (id: StepId, resource: string, name: string, exists: boolean, detail?: string) =>
    steps.push({ id, resource, name, action: exists ? "exists" : "create", ...(detail ? { detail } : {}) });

  const role = state.executionRole;
  add(
    "execution-role",
    "IAM role",
    names.executionRole,
    role !== null && role.managedPolicyAttached && role.logsPolicy,
    role === null
      ? "trusts ecs-tasks.amazonaws.com; task-execution policy and log-group creation"
      : missing([!role.managedPolicyAttached && "attach the task-execution policy", !role.logsPolicy && "allow log-group creation"]),
  );
  add("user", "IAM user", names.user, state.user !== null);
  const policy = state.policy;
  add(
    "policy",
    "IAM policy",
    names.policy,
    policy !== null && policy.attachedToUser,
    policy === null ? `ECS, EC2 and logs calls of ecs:push runs; attached to ${names.user}` : policy.attachedToUser ? undefined : `attach to ${names.user}`,
  );
  if (hasCredentials) {
    add("access-key", "IAM access key", names.user, true, "the pool has credentials: no new key");
  } else {
    add(
      "access-key",
      "IAM access key",
      names.user,
      false,
      `stored as credentials '${credentialsName(poolName)}'`,
    );
  }
  add("cluster", "ECS cluster", names.cluster, state.cluster !== null, state.cluster ? undefined : "Fargate and Fargate Spot capacity");

  if (state.defaultVpc) {
    add("vpc", "VPC", state.defaultVpc.id, true, "the region's default VPC");
  } else {
    const net = networkNames(names.vpc);
    const vpc = state.vpc;
    add("vpc", "VPC", names.vpc, vpc !== null, vpc ? vpc.id : chooseVpcCidr(state.vpcCidrs));
    const igw = state.internetGateway;
    add("internet-gateway", "internet gateway", net.internetGateway, igw !== null && igw.attached, igw && !igw.attached ? "attach to the VPC" : undefined);
    const wanted = wantedSubnets(state);
    const subnetsMissing = Math.max(0, wanted - new Set(state.subnets.map((s) => s.zone)).size);
    add(
      "subnets",
      "subnets",
      `${names.vpc}-*`,
      subnetsMissing === 0,
      subnetsMissing === 0 ? state.subnets.map((s) => s.zone).join(", ") : `${subnetsMissing} of ${wanted}, one per availability zone`,
    );
    const rt = state.routeTable;
    const unassociated = state.subnets.filter((s) => !rt?.associatedSubnets.includes(s.id)).length + subnetsMissing;
    add(
      "route-table",
      "route table",
      net.routeTable,
      rt !== null && rt.defaultRoute && unassociated === 0,
      rt === null ? "0.0.0.0/0 to the internet gateway" : missing([!rt.defaultRoute && "add 0.0.0.0/0 route", unassociated > 0 && `associate ${unassociated} subnets`]),
    );
    add("security-group", "security group", net.securityGroup, state.securityGroup !== null, state.securityGroup ? undefined : "no inbound, all outbound");
  }
  add("repository", "ECR repository", names.repository, state.repository !== null, state.repository ? state.repository.uri : "for flow images");
  return steps;
}

/** One subnet in each of three zones, or in every zone of a region that has fewer. */
export function wantedSubnets(state: Pick<ObservedState, "zones">): number {
  return state.zones.length ? Math.min(AVAILABILITY_ZONES, state.zones.length) : AVAILABILITY_ZONES;
}

function missing(parts: (string | false)[]): string | undefined {
  const out = parts.filter((p): p is string => typeof p === "string");
  return out.length ? out.join("; ") : undefined;
}

/** The credentials a provisioned pool gets, named after it. */
export function credentialsName(poolName: string): string {
  return `${poolName}-aws`;
}

/** Tags on everything provisioning makes: removal deletes only what carries the pool's. */
export const POOL_TAG = "ferry:pool";
export const MANAGED_BY_TAG = "managed-by";

export function poolTags(poolName: string): { key: string; value: string }[] {
  return [
    { key: POOL_TAG, value: poolName },
    { key: MANAGED_BY_TAG, value: "ferry" },
  ];
}

/** On a resource another pool's provisioning made: `ferry:pool:<pool>`, the pool uses it too. */
export const POOL_USES_TAG_PREFIX = `${POOL_TAG}:`;
/** On the IAM user: `ferry:access-key:<pool>` names the key made for that pool, the one its removal deletes. */
export const ACCESS_KEY_TAG_PREFIX = "ferry:access-key:";

export function poolUsesTag(poolName: string): string {
  return `${POOL_USES_TAG_PREFIX}${poolName}`;
}

type AnyTags = readonly { Key?: string | undefined; Value?: string | undefined; key?: string | undefined; value?: string | undefined }[] | Record<string, string> | undefined;

/** Tags in any of AWS's spellings (IAM's Key/Value, ECS's key/value, a map) as one map. */
export function tagMap(tags: AnyTags): Record<string, string> {
  if (!tags) return {};
  if (!Array.isArray(tags)) return { ...(tags as Record<string, string>) };
  const out: Record<string, string> = {};
  for (const t of tags as readonly { Key?: string | undefined; Value?: string | undefined; key?: string | undefined; value?: string | undefined }[]) {
    const key = t.Key ?? t.key;
    if (key !== undefined) out[key] = t.Value ?? t.value ?? "";
  }
  return out;
}

/** The pools that use a resource: the one whose provisioning made it (`ferry:pool`) and those that tagged it since (`ferry:pool:<pool>`). */
export function holdersOf(tags: AnyTags): string[] {
  const map = tagMap(tags);
  const out = new Set<string>();
  if (map[POOL_TAG]) out.add(map[POOL_TAG]);
  for (const key of Object.keys(map)) if (key.startsWith(POOL_USES_TAG_PREFIX) && key.length > POOL_USES_TAG_PREFIX.length) out.add(key.slice(POOL_USES_TAG_PREFIX.length));
  return [...out].sort();
}

/** Whether a resource's tags (in any of AWS's spellings) say the pool uses it. */
export function hasPoolTag(tags: AnyTags, poolName: string): boolean {
  return holdersOf(tags).includes(poolName);
}

/** Made by Ferry's provisioning (for any pool): only such a resource is shared, and tagged by the pools that use it. */
export function madeByFerry(tags: AnyTags): boolean {
  const map = tagMap(tags);
  return map[MANAGED_BY_TAG] === "ferry" || holdersOf(map).length > 0;
}

/** What of a step's resources Ferry made for other pools and this pool does not use yet: tagged by the step. */
export function toAdopt(state: Pick<ObservedState, "tags">, step: StepId, poolName: string): { id: string; tags: Record<string, string> }[] {
  return (state.tags?.[step] ?? []).filter((r) => madeByFerry(r.tags) && !holdersOf(r.tags).includes(poolName));
}

/**
 * The job-variable defaults a provisioned pool's template gets. The network is set only for a VPC
 * provisioning made: with the default VPC, runs use it without being told.
 */
export function jobVariableDefaults(input: {
  region: string;
  cluster: string;
  executionRoleArn: string;
  network: { vpcId: string; subnets: string[]; securityGroups: string[] } | null;
}): Record<string, unknown> {
  const out: Record<string, unknown> = { region: input.region, cluster: input.cluster, execution_role_arn: input.executionRoleArn };
  if (input.network) {
    out.vpc_id = input.network.vpcId;
    out.subnets = input.network.subnets;
    out.security_groups = input.network.securityGroups;
  }
  return out;
}
