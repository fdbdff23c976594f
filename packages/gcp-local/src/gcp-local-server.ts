import { randomUUID } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import Dockerode from "dockerode";
import { createLocalTls, DockerContainerRuntime, type ContainerRuntime } from "@ferry/local-containers";
import { ExecutionRunner } from "./execution-runner.js";
import { resolveGcpLocalOptions, type GcpLocalOptions, type ResolvedGcpLocalOptions } from "./gcp-local-options.js";
import { addServices } from "./grpc-services.js";
import { createHttpServer, type RestRoute } from "./http-server.js";
import { iamRoutes } from "./iam-rest.js";
import { IamState } from "./iam-state.js";
import { KeyRing, type ServiceAccountKeyFile } from "./keys.js";
import { LogStore, loggingService } from "./logging-service.js";
import { OperationStore, operationsService } from "./operations.js";
import { LocalProject } from "./project.js";
import { artifactRegistryService, projectsService, serviceUsageService } from "./provisioning-services.js";
import { loadGoogleProtos } from "./protos.js";
import { runServices } from "./run-service.js";
import { RunState, type Message } from "./run-state.js";
import { SecretValues } from "./secrets.js";
import { permissionDenied } from "./grpc-error.js";
import { CallLog, ExecutionFailures, FaultInjector, type CallRecord, type ExecutionFailure, type Fault } from "./test-hooks.js";
import { answerHook } from "./hooks.js";

/** Every resource of the local project, comparable before and after (e.g. provisioning, then deprovisioning). */
export interface GcpLocalSnapshot {
  enabledServices: string[];
  jobs: string[];
  executions: string[];
  repositories: { name: string; format: string; labels: Record<string, string> }[];
  serviceAccounts: { email: string; description: string; userManagedKeys: number }[];
  /** The project's IAM policy, bindings and members sorted. */
  iamBindings: { role: string; members: string[] }[];
}

/** The roles on the project of the account `serviceAccountKey()` makes when it does not exist: what Ferry's runs need. */
export const TEST_ACCOUNT_ROLES = ["roles/run.developer", "roles/iam.serviceAccountUser", "roles/logging.viewer"];

const RUN_ROLES = ["roles/run.developer", "roles/run.admin"];

/** Cloud Run's permission for a method: `GetJob` → `run.jobs.get`, `ListExecutions` → `run.executions.list`. */
export function runPermission(method: string): string {
  const match = /^([A-Z][a-z]+)([A-Z][a-z]+?)s?$/.exec(method);
  if (match === null) return `run.${method}`;
  return `run.${match[2]!.toLowerCase()}s.${match[1]!.toLowerCase()}`;
}

/** A running local Google Cloud endpoint. */
export interface GcpLocal {
  /** Where the servers listen (`127.0.0.1`). */
  host: string;
  /** The clients' `apiEndpoint`: `localhost` (a name the server's certificate holds; grpc-js reaches 127.0.0.1 through it). */
  apiEndpoint: string;
  /** The TLS gRPC port: the clients' `port`. */
  grpcPort: number;
  /** The HTTP port of the token endpoint and the IAM REST API. */
  httpPort: number;
  /** `http://HOST:HTTP_PORT`: the base URL to use for https://iam.googleapis.com. */
  httpUrl: string;
  /** The CA that signed the gRPC server's certificate (`grpc.credentials.createSsl(Buffer.from(caPem))`). */
  caPem: string;
  /** The OAuth 2.0 token endpoint (`POST`, JWT-bearer grant); also each key file's `token_uri`. */
  tokenUri: string;
  projectId: string;
  projectNumber: string;
  /** A key of the project's owner: the user's application default credentials in tests. */
  ownerKey: ServiceAccountKeyFile;
  /**
   * A new key for a service account of the project, as a `gcp` credentials block holds. Default
   * `ferry-test@PROJECT.iam.gserviceaccount.com`; an account that does not exist is made, with TEST_ACCOUNT_ROLES.
   */
  serviceAccountKey(email?: string): ServiceAccountKeyFile;
  /** Every call received so far, oldest first. */
  calls(): CallRecord[];
  clearCalls(): void;
  injectFault(fault: Fault): void;
  /** Makes the next executions (of `job`, or any) fail to get their resources with Cloud Run's reason and message. */
  injectExecutionFailure(failure: ExecutionFailure): void;
  faults(): Fault[];
  clearFaults(): void;
  snapshot(): GcpLocalSnapshot;
  /** Gives a Secret Manager secret (by name) the value a job's env reference resolves to. */
  setSecret(name: string, value: string): void;
  /** Why executions cannot run containers here, or null when a container runtime answers. */
  runtimeUnavailable: string | null;
  close(): Promise<void>;
}

async function pickRuntime(options: ResolvedGcpLocalOptions, serverId: string): Promise<{ runtime: ContainerRuntime | null; unavailable: string | null }> {
  if (options.runtime !== undefined) return { runtime: options.runtime, unavailable: null };
  if (options.docker === null) return { runtime: null, unavailable: "Docker is disabled (docker: null)" };
  const docker = options.docker ?? new Dockerode();
  const answer = await Promise.race([
    docker.ping().then(() => null, (error: Error) => error.message),
    new Promise<string>((resolve) => setTimeout(() => resolve("no answer within 2 s"), 2_000).unref()),
  ]);
  if (answer !== null) return { runtime: null, unavailable: `Docker is not answering (${answer})` };
  return { runtime: new DockerContainerRuntime(docker, { network: options.network, serverId, labelPrefix: "gcp-local" }), unavailable: null };
}

function listen(server: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts the servers; both listen before this resolves. */
export async function startGcpLocal(input: GcpLocalOptions = {}): Promise<GcpLocal> {
  const options = resolveGcpLocalOptions(input);
  const serverId = randomUUID();
  const { runtime, unavailable } = await pickRuntime(options, serverId);
  const protos = loadGoogleProtos();
  const tls = await createLocalTls("gcp-local", [options.host]);
  const keys = new KeyRing(options.now);
  const calls = new CallLog();
  const faults = new FaultInjector();
  const executionFailures = new ExecutionFailures();
  const project = new LocalProject(options.projectId, options.projectNumber, options.enabledServices);
  const state = new RunState();
  const operations = new OperationStore();
  const logs = new LogStore();
  const secrets = new SecretValues(options.projectId, options.projectNumber, options.secrets);

  const routes: RestRoute[] = [];
  let hooks: (method: string, path: string, body: unknown) => unknown = () => undefined;
  const httpServer = createHttpServer({ keys, calls, faults, routes, hooks: (method, path, body) => hooks(method, path, body) });
  const httpPort = await listen(httpServer, options.httpPort, options.host);
  const httpUrl = `http://${options.host}:${httpPort}`;
  const tokenUri = `${httpUrl}/token`;

  const domain = `${options.projectId}.iam.gserviceaccount.com`;
  const ownerEmail = `project-owner@${domain}`;
  const ownerKey = keys.create(ownerEmail, options.projectId, tokenUri);
  const iam = new IamState(options.projectId, keys, tokenUri, ownerEmail);
  iam.accounts.set(ownerEmail, { email: ownerEmail, uniqueId: "100000000000000000001", displayName: "Project owner", description: "The project's owner, whose key stands for the user's own credentials in tests (gcp-local).", etag: "BwYAAAAAAAA=", disabled: false });
  routes.push(...iamRoutes(project, iam, keys));
  const repositories = new Map<string, Message>();
  const provisioning = { project, iam, operations, protos, operationDelayMs: options.operationDelayMs, now: options.now };

  let ended: (execution: Message) => void = () => undefined;
  const runner = new ExecutionRunner({
    state,
    runtime,
    runtimeUnavailable: unavailable ?? "",
    output: logs,
    secret: (ref) => secrets.value(ref),
    resourceFailure: (execution) => executionFailures.take(execution.job as string),
    stopGraceSeconds: options.stopGraceSeconds,
    startDelayMs: options.executionStartDelayMs,
    now: options.now,
    ended: (execution) => ended(execution),
  });
  const run = runServices({
    state,
    operations,
    protos,
    runner,
    runtime,
    secrets,
    now: options.now,
    checkProject: (location, context) => {
      project.check(location.project, "run.googleapis.com");
      iam.require(context.principal, RUN_ROLES, runPermission(context.method), `projects/${location.project}/locations/${location.location}`);
    },
    checkActAs: (serviceAccount, context) => {
      const runAs = serviceAccount ?? `${options.projectNumber}-compute@developer.gserviceaccount.com`;
      const missing = runAs.endsWith(`@${domain}`) && !iam.accounts.has(runAs);
      if (missing || !iam.hasRole(context.principal, ["roles/iam.serviceAccountUser"])) {
        throw permissionDenied(`Permission 'iam.serviceaccounts.actAs' denied on service account ${runAs} (or it may not exist).`);
      }
    },
  });
  ended = run.executionEnded;

  const grpcServer = new Server();
  addServices(
    grpcServer,
    protos.definition,
    {
      "google.cloud.run.v2.Jobs": run.jobs,
      "google.cloud.run.v2.Executions": run.executions,
      "google.cloud.run.v2.Tasks": run.tasks,
      "google.longrunning.Operations": operationsService(operations),
      "google.logging.v2.LoggingServiceV2": loggingService(logs, (projectId, principal) => {
        project.check(projectId, "logging.googleapis.com");
        iam.require(principal, ["roles/logging.viewer", "roles/logging.privateLogViewer", "roles/logging.admin"], "logging.logEntries.list", `projects/${projectId}`);
      }),
      "google.api.serviceusage.v1.ServiceUsage": serviceUsageService(provisioning),
      "google.devtools.artifactregistry.v1.ArtifactRegistry": artifactRegistryService(provisioning, repositories),
      "google.cloud.resourcemanager.v3.Projects": projectsService(provisioning),
    },
    { keys, calls, faults },
  );
  const credentials = ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], false);
  const grpcPort = await new Promise<number>((resolve, reject) => {
    grpcServer.bindAsync(`${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.grpcPort}`, credentials, (error, port) => (error === null ? resolve(port) : reject(error)));
  });

  const serviceAccountKey = (email = `ferry-test@${domain}`): ServiceAccountKeyFile => {
    if (!iam.accounts.has(email)) {
      const accountId = email.endsWith(`@${domain}`) ? email.slice(0, -domain.length - 1) : "";
      if (accountId === "") throw new Error(`serviceAccountKey: ${email} is not an account of project ${options.projectId}: use ACCOUNT@${domain}.`);
      iam.create(accountId, accountId, "Made by gcp-local's serviceAccountKey() for a test.");
      const bindings = iam.bindings.map((b) => ({ role: b.role, members: [...b.members] }));
      for (const role of TEST_ACCOUNT_ROLES) {
        const binding = bindings.find((b) => b.role === role);
        if (binding === undefined) bindings.push({ role, members: [`serviceAccount:${email}`] });
        else binding.members.push(`serviceAccount:${email}`);
      }
      iam.setPolicy(bindings, undefined);
    }
    return iam.createKey(email);
  };

  const local: GcpLocal = {
    host: options.host,
    apiEndpoint: options.host === "127.0.0.1" ? "localhost" : options.host,
    grpcPort,
    httpPort,
    httpUrl,
    caPem: tls.caPem,
    tokenUri,
    projectId: options.projectId,
    projectNumber: options.projectNumber,
    ownerKey,
    serviceAccountKey,
    calls: () => calls.list(),
    clearCalls: () => calls.clear(),
    injectFault: (fault) => faults.add(fault),
    injectExecutionFailure: (failure) => executionFailures.add(failure),
    faults: () => faults.list(),
    clearFaults: () => {
      faults.clear();
      executionFailures.clear();
    },
    snapshot: () => ({
      enabledServices: [...project.enabled].sort(),
      jobs: [...state.jobs.keys()].sort(),
      executions: [...state.executions.keys()].sort(),
      repositories: [...repositories.values()].map((r) => ({ name: r.name as string, format: r.format as string, labels: { ...(r.labels as Record<string, string>) } })).sort((a, b) => a.name.localeCompare(b.name)),
      serviceAccounts: [...iam.accounts.values()].map((a) => ({ email: a.email, description: a.description, userManagedKeys: keys.keysOf(a.email).length })).sort((a, b) => a.email.localeCompare(b.email)),
      iamBindings: iam.bindings.map((b) => ({ role: b.role, members: [...b.members].sort() })).sort((a, b) => a.role.localeCompare(b.role)),
    }),
    setSecret: (name, value) => secrets.set(name, value),
    runtimeUnavailable: unavailable,
    close: async () => {
      await Promise.all([...state.executions.keys()].map((name) => runner.discard(name)));
      await runtime?.removeAll().catch(() => undefined);
      grpcServer.forceShutdown();
      await new Promise<void>((resolve) => {
        httpServer.closeAllConnections();
        httpServer.close(() => resolve());
      });
    },
  };
  hooks = (method, path, body) => answerHook(local, `${method} ${path}`, body);
  return local;
}
