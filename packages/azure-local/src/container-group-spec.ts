import { badRequest } from "./arm-error.js";
import type { RegistryCredential } from "./registry-pull.js";

/** What a PUT of a container group may carry that azure-local acts on; the rest is kept and answered as given. */
export interface EnvironmentVariable {
  name: string;
  value?: string;
  secureValue?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  environmentVariables: EnvironmentVariable[];
  cpu: number;
  memoryInGB: number;
  raw: Record<string, unknown>;
}

export interface ContainerGroupSpec {
  location: string;
  tags: Record<string, string>;
  identity?: unknown;
  /** The ids of the group's user-assigned identities. */
  userAssignedIdentities: string[];
  imageRegistryCredentials: RegistryCredential[];
  subnetIds: string[];
  osType: string;
  restartPolicy: "Always" | "OnFailure" | "Never";
  containers: ContainerSpec[];
  /** The properties as PUT, less the containers (answered back as they came). */
  properties: Record<string, unknown>;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** ACI's rule for container group and container names: 1–63 lower-case letters, digits and hyphens, no hyphen at either end. */
export function checkContainerGroupName(name: string): void {
  if (!NAME.test(name)) {
    throw badRequest("ContainerGroupNameInvalid", `The container group name '${name}' is invalid. The container group name must contain no more than 63 characters and only lowercase alphanumeric characters and '-'. It can't start or end with '-'.`);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Checks and reads a container group PUT body; a 400 with ACI's code names what is wrong. */
export function parseContainerGroup(body: unknown): ContainerGroupSpec {
  if (!isRecord(body)) throw badRequest("InvalidRequestContent", "The request content was invalid and could not be deserialized: a JSON object is expected.");
  const location = body["location"];
  if (typeof location !== "string" || location === "") throw badRequest("LocationRequired", "The location property is required for this definition.");
  const properties = body["properties"];
  if (!isRecord(properties)) throw badRequest("InvalidRequestContent", "The request content was invalid: 'properties' is required.");
  const osType = properties["osType"];
  if (osType !== "Linux" && osType !== "Windows") throw badRequest("InvalidOsType", "The 'osType' of the container group must be 'Linux' or 'Windows'.");
  const restartPolicy = properties["restartPolicy"] ?? "Always";
  if (restartPolicy !== "Always" && restartPolicy !== "OnFailure" && restartPolicy !== "Never") throw badRequest("InvalidRestartPolicy", `The restart policy '${String(restartPolicy)}' is invalid: use Always, OnFailure or Never.`);
  const containers = properties["containers"];
  if (!Array.isArray(containers) || containers.length === 0) throw badRequest("NoContainersInContainerGroup", "The container group must contain at least one container.");
  const tags = isRecord(body["tags"]) ? (body["tags"] as Record<string, string>) : {};
  const { containers: _containers, ...rest } = properties;
  const identity = body["identity"];
  const userAssigned = isRecord(identity) && isRecord(identity["userAssignedIdentities"]) ? Object.keys(identity["userAssignedIdentities"]) : [];
  const credentials = Array.isArray(properties["imageRegistryCredentials"]) ? (properties["imageRegistryCredentials"] as unknown[]) : [];
  const imageRegistryCredentials = credentials.map((c): RegistryCredential => {
    if (!isRecord(c) || typeof c["server"] !== "string") throw badRequest("InvalidImageRegistryCredential", "Each image registry credential needs a server.");
    return {
      server: c["server"],
      ...(typeof c["identity"] === "string" ? { identity: c["identity"] } : {}),
      ...(typeof c["username"] === "string" ? { username: c["username"] } : {}),
      ...(typeof c["password"] === "string" ? { password: c["password"] } : {}),
    };
  });
  const subnets = Array.isArray(properties["subnetIds"]) ? (properties["subnetIds"] as unknown[]) : [];
  return {
    location,
    tags,
    ...(identity === undefined ? {} : { identity }),
    userAssignedIdentities: userAssigned,
    imageRegistryCredentials,
    subnetIds: subnets.map((s) => (isRecord(s) ? String(s["id"] ?? "") : String(s))),
    osType,
    restartPolicy,
    containers: containers.map(parseContainer),
    properties: rest,
  };
}

function parseContainer(value: unknown, index: number): ContainerSpec {
  if (!isRecord(value) || typeof value["name"] !== "string") throw badRequest("InvalidContainerName", `Container ${index} needs a name.`);
  const name = value["name"];
  if (!NAME.test(name)) throw badRequest("InvalidContainerName", `The container name '${name}' is invalid. It must contain no more than 63 characters and only lowercase alphanumeric characters and '-'. It can't start or end with '-'.`);
  const props = value["properties"];
  if (!isRecord(props) || typeof props["image"] !== "string" || props["image"] === "") throw badRequest("InvalidContainerImage", `The container '${name}' needs an image.`);
  const requests = isRecord(props["resources"]) && isRecord(props["resources"]["requests"]) ? props["resources"]["requests"] : undefined;
  if (requests === undefined || typeof requests["cpu"] !== "number" || typeof requests["memoryInGB"] !== "number") {
    throw badRequest("InvalidResourceRequests", `The container '${name}' needs resources.requests with cpu and memoryInGB.`);
  }
  const env = Array.isArray(props["environmentVariables"]) ? (props["environmentVariables"] as unknown[]) : [];
  const environmentVariables = env.map((e) => {
    if (!isRecord(e) || typeof e["name"] !== "string") throw badRequest("InvalidEnvironmentVariable", `An environment variable of container '${name}' has no name.`);
    return { name: e["name"], ...(typeof e["value"] === "string" ? { value: e["value"] } : {}), ...(typeof e["secureValue"] === "string" ? { secureValue: e["secureValue"] } : {}) };
  });
  const command = Array.isArray(props["command"]) ? (props["command"] as unknown[]).map(String) : undefined;
  return { name, image: props["image"], ...(command === undefined ? {} : { command }), environmentVariables, cpu: requests["cpu"], memoryInGB: requests["memoryInGB"], raw: props };
}

/** The environment a container runs with: plain and secure values alike. */
export function containerEnvironment(spec: ContainerSpec): Record<string, string> {
  return Object.fromEntries(spec.environmentVariables.map((e) => [e.name, e.value ?? e.secureValue ?? ""]));
}

/** The variables as GET answers them: a secureValue's value is never returned. */
export function environmentView(spec: ContainerSpec): EnvironmentVariable[] {
  return spec.environmentVariables.map((e) => (e.secureValue !== undefined ? { name: e.name } : { name: e.name, value: e.value ?? "" }));
}

/** The group's properties as GET answers them: registry passwords are never returned. */
export function propertiesView(spec: ContainerGroupSpec): Record<string, unknown> {
  const credentials = spec.properties["imageRegistryCredentials"];
  if (!Array.isArray(credentials)) return spec.properties;
  return { ...spec.properties, imageRegistryCredentials: credentials.map((c: Record<string, unknown>) => Object.fromEntries(Object.entries(c).filter(([key]) => key !== "password"))) };
}
