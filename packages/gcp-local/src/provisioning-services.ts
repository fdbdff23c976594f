import { randomBytes } from "node:crypto";
import { failedPrecondition, invalidArgument, alreadyExists, notFound, permissionDenied } from "./grpc-error.js";
import type { CallContext, Request, ServiceMethods } from "./grpc-services.js";
import type { IamState, Binding } from "./iam-state.js";
import type { OperationStore } from "./operations.js";
import type { LocalProject } from "./project.js";
import type { GoogleProtos } from "./protos.js";
import { page } from "./paging.js";
import { validateLabels } from "./validation.js";
import { RESOURCE_ID, parseLocation } from "./run-names.js";
import type { Message } from "./run-state.js";
import { timestamp } from "./time.js";

export interface ProvisioningOptions {
  project: LocalProject;
  iam: IamState;
  operations: OperationStore;
  protos: GoogleProtos;
  /** How long provisioning operations take, so a caller that does not wait for them is caught. */
  operationDelayMs: number;
  now: () => number;
}

const TITLES: Record<string, string> = {
  "run.googleapis.com": "Cloud Run Admin API",
  "artifactregistry.googleapis.com": "Artifact Registry API",
  "iam.googleapis.com": "Identity and Access Management (IAM) API",
  "logging.googleapis.com": "Cloud Logging API",
  "serviceusage.googleapis.com": "Service Usage API",
  "cloudresourcemanager.googleapis.com": "Cloud Resource Manager API",
};

const SERVICE_NAME = /^[a-z][-a-z0-9.]*\.googleapis\.com$/;

/** Finishes an operation after the delay, with the result `finish` computes then. */
function later(options: ProvisioningOptions, finish: () => void): void {
  setTimeout(finish, options.operationDelayMs).unref?.();
}

/** google.api.serviceusage.v1.ServiceUsage: which APIs the project has enabled. */
export function serviceUsageService(options: ProvisioningOptions): ServiceMethods {
  const { project, operations, protos } = options;
  const serviceOf = (service: string): Message => ({
    name: `projects/${project.projectNumber}/services/${service}`,
    parent: `projects/${project.projectNumber}`,
    config: { name: service, title: TITLES[service] ?? service },
    state: project.enabled.has(service) ? "ENABLED" : "DISABLED",
  });
  const parse = (name: string | undefined): string => {
    const match = /^projects\/([^/]+)\/services\/([^/]+)$/.exec(name ?? "");
    if (match === null) throw invalidArgument(`Invalid service name '${name ?? ""}': expected projects/PROJECT/services/SERVICE, e.g. projects/my-project/services/run.googleapis.com.`);
    if (!project.is(match[1]!)) throw permissionDenied(`Permission denied to get service [${match[2]!}] in project ${match[1]!}.`);
    return match[2]!;
  };
  const checkParent = (parent: string | undefined): void => {
    const match = /^projects\/([^/]+)$/.exec(parent ?? "");
    if (match === null) throw invalidArgument(`Invalid parent '${parent ?? ""}': expected projects/PROJECT.`);
    if (!project.is(match[1]!)) throw permissionDenied(`Permission denied on resource project ${match[1]!}.`);
  };
  const enable = (services: string[], context: CallContext): Message => {
    const unknown = services.filter((s) => !SERVICE_NAME.test(s));
    if (unknown.length > 0) throw failedPrecondition(`Not found or permission denied for service(s): ${unknown.join(", ")}.`);
    options.iam.require(context.principal, ["roles/serviceusage.serviceUsageAdmin"], "serviceusage.services.enable", `projects/${project.projectId}`);
    const name = operations.start("operations", () => protos.packAny("google.api.serviceusage.v1.OperationMetadata", { resourceNames: services.map((s) => `services/${s}/projects/${project.projectNumber}`) }));
    return { name, services };
  };
  return {
    GetService: async (request) => serviceOf(parse(request.name)),
    ListServices: async (request) => {
      checkParent(request.parent);
      const filter = (request.filter as string | undefined) ?? "";
      const known = [...new Set([...Object.keys(TITLES), ...project.enabled])].sort();
      const wanted = /state:ENABLED/i.test(filter) ? known.filter((s) => project.enabled.has(s)) : /state:DISABLED/i.test(filter) ? known.filter((s) => !project.enabled.has(s)) : known;
      const { items, nextPageToken } = page(wanted.map(serviceOf), request, 200);
      return { services: items, nextPageToken };
    },
    BatchGetServices: async (request) => ({ services: ((request.names as string[] | undefined) ?? []).map((name) => serviceOf(parse(name))) }),
    EnableService: async (request, context) => {
      const service = parse(request.name);
      const { name } = enable([service], context);
      later(options, () => {
        project.enabled.add(service);
        operations.succeed(name, protos.packAny("google.api.serviceusage.v1.EnableServiceResponse", { service: serviceOf(service) }));
      });
      return operations.get(name);
    },
    BatchEnableServices: async (request, context) => {
      checkParent(request.parent);
      const services = (request.serviceIds as string[] | undefined) ?? [];
      if (services.length === 0 || services.length > 20) throw invalidArgument("service_ids: name 1 to 20 services, e.g. run.googleapis.com.");
      const { name } = enable(services, context);
      later(options, () => {
        for (const service of services) project.enabled.add(service);
        operations.succeed(name, protos.packAny("google.api.serviceusage.v1.BatchEnableServicesResponse", { services: services.map(serviceOf), failures: [] }));
      });
      return operations.get(name);
    },
    DisableService: async (request, context) => {
      const service = parse(request.name);
      options.iam.require(context.principal, ["roles/serviceusage.serviceUsageAdmin"], "serviceusage.services.disable", `projects/${project.projectId}`);
      const name = operations.start("operations", () => protos.packAny("google.api.serviceusage.v1.OperationMetadata", { resourceNames: [`services/${service}/projects/${project.projectNumber}`] }));
      later(options, () => {
        project.enabled.delete(service);
        operations.succeed(name, protos.packAny("google.api.serviceusage.v1.DisableServiceResponse", { service: serviceOf(service) }));
      });
      return operations.get(name);
    },
  };
}

/** google.devtools.artifactregistry.v1.ArtifactRegistry: the project's repositories (labels included). */
export function artifactRegistryService(options: ProvisioningOptions, repositories: Map<string, Message>): ServiceMethods {
  const { project, operations, protos, now } = options;
  const REPOSITORY = "google.devtools.artifactregistry.v1.Repository";
  const METADATA = "google.devtools.artifactregistry.v1.OperationMetadata";
  const check = (location: { project: string }, context: CallContext, write: boolean) => {
    project.check(location.project, "artifactregistry.googleapis.com");
    options.iam.require(context.principal, write ? ["roles/artifactregistry.admin", "roles/artifactregistry.repoAdmin"] : ["roles/artifactregistry.admin", "roles/artifactregistry.reader", "roles/artifactregistry.writer", "roles/artifactregistry.repoAdmin"], write ? "artifactregistry.repositories.create" : "artifactregistry.repositories.get", `projects/${location.project}`);
  };
  const parse = (name: string | undefined): { parent: string; project: string; repository: string } => {
    const match = /^(projects\/([^/]+)\/locations\/[^/]+)\/repositories\/([^/]+)$/.exec(name ?? "");
    if (match === null) throw invalidArgument(`Invalid repository name '${name ?? ""}': expected projects/PROJECT/locations/REGION/repositories/REPOSITORY.`);
    return { parent: match[1]!, project: match[2]!, repository: match[3]! };
  };
  // Resource names carry the project id even when the request named the project by number.
  const canonical = (name: string) => name.replace(/^projects\/[^/]+\//, `projects/${project.projectId}/`);
  const get = (name: string): Message => {
    const repository = repositories.get(canonical(name));
    if (repository === undefined) throw notFound(`Requested entity was not found.`);
    return repository;
  };
  return {
    GetRepository: async (request: Request, context) => {
      check(parse(request.name), context, false);
      return get(request.name);
    },
    ListRepositories: async (request, context) => {
      const location = parseLocation(request.parent);
      check(location, context, false);
      const prefix = `${canonical(request.parent as string)}/repositories/`;
      const { items, nextPageToken } = page([...repositories.values()].filter((r) => (r.name as string).startsWith(prefix)), request);
      return { repositories: items, nextPageToken };
    },
    CreateRepository: async (request, context) => {
      const location = parseLocation(request.parent);
      check(location, context, true);
      const id = request.repositoryId as string | undefined;
      if (!RESOURCE_ID.test(id ?? "")) throw invalidArgument(`Invalid repository id '${id ?? ""}': use lower-case letters, digits and hyphens, starting with a letter.`);
      const name = `${canonical(request.parent as string)}/repositories/${id!}`;
      if (repositories.has(name)) throw alreadyExists(`the repository already exists`);
      validateLabels(request.repository?.labels, "repository.labels");
      const format = (request.repository?.format as string | undefined) ?? "FORMAT_UNSPECIFIED";
      if (format === "FORMAT_UNSPECIFIED") throw invalidArgument("repository.format: say which format, e.g. DOCKER.");
      const created = now();
      const repository: Message = {
        name,
        format,
        description: request.repository?.description ?? "",
        labels: { ...(request.repository?.labels ?? {}) },
        createTime: timestamp(created),
        updateTime: timestamp(created),
        mode: request.repository?.mode ?? "STANDARD_REPOSITORY",
        sizeBytes: "0",
      };
      // Taken at once, so a second CreateRepository during the operation is ALREADY_EXISTS.
      repositories.set(name, repository);
      const operation = operations.start(canonical(request.parent as string), () => protos.packAny(METADATA, {}));
      later(options, () => operations.succeed(operation, protos.packAny(REPOSITORY, repository)));
      return operations.get(operation);
    },
    UpdateRepository: async (request, context) => {
      const repository = get(request.repository?.name);
      check(parse(repository.name as string), context, true);
      const mask: string[] = request.updateMask?.paths ?? [];
      if (mask.length === 0) throw invalidArgument("update_mask: name the fields to change, e.g. labels.");
      for (const path of mask) {
        if (path === "labels") {
          validateLabels(request.repository.labels, "repository.labels");
          repository.labels = { ...(request.repository.labels ?? {}) };
        }
        else if (path === "description") repository.description = request.repository.description ?? "";
        else throw invalidArgument(`update_mask path ${path}: gcp-local updates labels and description.`);
      }
      repository.updateTime = timestamp(now());
      return repository;
    },
    DeleteRepository: async (request, context) => {
      const repository = get(request.name);
      check(parse(request.name), context, true);
      const operation = operations.start(parse(repository.name as string).parent, () => protos.packAny(METADATA, {}));
      later(options, () => {
        repositories.delete(repository.name as string);
        operations.succeed(operation, protos.packAny("google.protobuf.Empty", {}));
      });
      return operations.get(operation);
    },
  };
}

/** google.cloud.resourcemanager.v3.Projects: the project itself and its IAM policy (read-modify-write with etag). */
export function projectsService(options: ProvisioningOptions): ServiceMethods {
  const { project, iam } = options;
  const check = (name: string | undefined): void => {
    const match = /^projects\/([^/]+)$/.exec(name ?? "");
    if (match === null) throw invalidArgument(`Invalid resource '${name ?? ""}': expected projects/PROJECT.`);
    if (!project.is(match[1]!)) throw permissionDenied(`The caller does not have permission`);
  };
  const policy = (): Message => ({ version: iam.version, bindings: iam.bindings.map((b) => ({ role: b.role, members: [...b.members] })), etag: iam.etag });
  const created = timestamp(options.now());
  const etag = randomBytes(8).toString("base64");
  return {
    GetProject: async (request) => {
      check(request.name);
      return { name: `projects/${project.projectNumber}`, parent: "", projectId: project.projectId, state: "ACTIVE", displayName: project.projectId, createTime: created, updateTime: created, etag: `W/"${etag}"`, labels: {} };
    },
    GetIamPolicy: async (request, context) => {
      check(request.resource);
      iam.require(context.principal, ["roles/iam.securityReviewer", "roles/iam.securityAdmin", "roles/resourcemanager.projectIamAdmin", "roles/viewer"], "resourcemanager.projects.getIamPolicy", request.resource);
      return policy();
    },
    SetIamPolicy: async (request, context) => {
      check(request.resource);
      iam.require(context.principal, ["roles/iam.securityAdmin", "roles/resourcemanager.projectIamAdmin"], "resourcemanager.projects.setIamPolicy", request.resource);
      const next = (request.policy ?? {}) as { bindings?: Binding[]; etag?: Buffer };
      iam.setPolicy(next.bindings ?? [], next.etag);
      return policy();
    },
  };
}
