import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Dockerode from "dockerode";
import { AwsError, isAwsError } from "./aws-error.js";
import { resolveAwsLocalOptions, type AwsLocalOptions, type ResolvedAwsLocalOptions } from "./aws-local-options.js";
import type { ContainerRuntime } from "@ferry/local-containers";
import { DockerContainerRuntime } from "@ferry/local-containers";
import { EcsTaskLifecycle } from "./ecs-task-lifecycle.js";
import { encodeEc2Result, encodeError, encodeJsonResult, encodeQueryResult, type EncodedResponse, type WireProtocol } from "./protocols.js";
import { parseQueryBody, QueryInput } from "./query-input.js";
import type { AwsService, JsonOperation, Principal, QueryOperation, ServiceContext } from "./service.js";
import { ec2Service, removeDefaultVpcs } from "./services/ec2-service.js";
import { createEcrService } from "./services/ecr-service.js";
import { createEcsService } from "./services/ecs-service.js";
import { iamService } from "./services/iam-service.js";
import { logsService } from "./services/logs-service.js";
import { stsService } from "./services/sts-service.js";
import { S3Buckets, type S3Request, type S3Response } from "./services/s3-service.js";
import { parseSigV4Authorization } from "./sigv4.js";
import { AwsLocalState } from "./state.js";
import { FaultInjector, type CallRecord, type Fault } from "./test-hooks.js";

export const HOOKS_PREFIX = "/__aws-local/";

/** A running local AWS endpoint. */
export interface AwsLocal {
  /** `http://127.0.0.1:<port>`: the SDK clients' `endpoint`, or `AWS_ENDPOINT_URL`. */
  endpoint: string;
  port: number;
  /** The root credentials (any secret is accepted). */
  credentials: { accessKeyId: string; secretAccessKey: string };
  accountId: string;
  /** Every operation received so far, oldest first. */
  calls(): CallRecord[];
  clearCalls(): void;
  injectFault(fault: Fault): void;
  faults(): Fault[];
  clearFaults(): void;
  setDefaultVpc(present: boolean): void;
  /** Empties the state, the calls and the faults, and removes task containers. */
  reset(): Promise<void>;
  /** The live state (IAM, and per region EC2, ECS, ECR, Logs), for assertions a wire call cannot make. */
  state: AwsLocalState;
  /** Why ECS tasks cannot run here, or null when a container runtime answers. */
  runtimeUnavailable: string | null;
  close(): Promise<void>;
}

const READ_ONLY = /^(Describe|Get|List)/;

async function pickRuntime(options: ResolvedAwsLocalOptions, serverId: string): Promise<{ runtime: ContainerRuntime | null; unavailable: string | null }> {
  if (options.runtime !== undefined) return { runtime: options.runtime, unavailable: null };
  if (options.docker === null) return { runtime: null, unavailable: "Docker is disabled (docker: null)" };
  const docker = options.docker ?? new Dockerode();
  const answer = await Promise.race([
    docker.ping().then(() => null, (error: Error) => error.message),
    new Promise<string>((resolve) => setTimeout(() => resolve("no answer within 2 s"), 2_000).unref()),
  ]);
  if (answer !== null) return { runtime: null, unavailable: `Docker is not answering (${answer})` };
  return { runtime: new DockerContainerRuntime(docker, { network: options.taskNetwork, serverId, labelPrefix: "aws-local" }), unavailable: null };
}

/** Starts the server; it listens before this resolves. */
export async function startAwsLocal(input: AwsLocalOptions = {}): Promise<AwsLocal> {
  const options = resolveAwsLocalOptions(input);
  const state = new AwsLocalState(options.stateFile, options.defaultVpc);
  const { runtime, unavailable } = await pickRuntime(options, state.data.serverId);
  const lifecycle = new EcsTaskLifecycle({
    state,
    accountId: options.accountId,
    runtime,
    runtimeUnavailable: `ResourceInitializationError: aws-local cannot run containers: ${unavailable ?? ""}`,
    taskEnvironment: options.taskEnvironment,
    defaultStopTimeoutSeconds: options.defaultStopTimeoutSeconds,
    provisioningDelayMs: options.provisioningDelayMs,
    keepContainersOnClose: options.stateFile !== null,
    now: options.now,
    changed: () => state.save(),
    outputAppended: () => state.saveSoon(),
  });
  const services: AwsService[] = [
    stsService,
    iamService,
    ec2Service,
    createEcsService(lifecycle),
    createEcrService({ registryUrl: options.registryUrl, registryPassword: options.registryPassword }),
    logsService,
  ];
  const calls: CallRecord[] = [];
  const faults = new FaultInjector();
  const handler = new AwsRequestHandler(services, options, state, faults, calls);

  const setDefaultVpc = (present: boolean): void => {
    state.data.defaultVpc = present;
    if (!present) removeDefaultVpcs({ state });
    else for (const region of Object.values(state.data.regions)) region.ec2.defaultVpcCreated = Object.values(region.ec2.vpcs).some((v) => v.isDefault);
    state.save();
  };
  const reset = async (): Promise<void> => {
    await lifecycle.removeAll();
    state.reset();
    handler.s3.reset();
    calls.length = 0;
    faults.clear();
  };

  const server = createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => {
      console.error("aws-local: request failed", error);
      if (!response.headersSent) response.writeHead(500, { "content-type": "text/plain" });
      response.end(String(error));
    });
  });
  const serve = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const raw = await readBody(request);
    const url = new URL(request.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(HOOKS_PREFIX) && parseSigV4Authorization(firstHeader(request.headers.authorization))?.service === "s3") {
      // S3 is REST with binary bodies: its own router, before the body is read as text.
      const s3Answer = handler.handleS3({ method: request.method ?? "GET", path: url.pathname, query: url.searchParams, headers: request.headers, body: raw });
      response.writeHead(s3Answer.status, { ...s3Answer.headers, "content-length": s3Answer.headers["content-length"] ?? String(s3Answer.body.length) });
      response.end(request.method === "HEAD" ? undefined : s3Answer.body);
      return;
    }
    const body = raw.toString("utf8");
    const answer = url.pathname.startsWith(HOOKS_PREFIX)
      ? await hooks(url.pathname.slice(HOOKS_PREFIX.length), request.method ?? "GET", body)
      : await handler.handle({ method: request.method ?? "GET", headers: request.headers, query: url.search, body });
    response.writeHead(answer.status, { ...answer.headers, "content-length": Buffer.byteLength(answer.body) });
    response.end(answer.body);
  };
  const hooks = async (path: string, method: string, body: string): Promise<EncodedResponse> => {
    const json = (value: unknown, status = 200): EncodedResponse => ({ status, headers: { "content-type": "application/json" }, body: JSON.stringify(value) });
    const parsed = (): unknown => (body === "" ? {} : JSON.parse(body));
    try {
      switch (`${method} ${path}`) {
        case "GET calls":
          return json({ calls });
        case "DELETE calls":
          calls.length = 0;
          return json({ calls });
        case "GET faults":
          return json({ faults: faults.list() });
        case "POST faults": {
          const value = parsed();
          for (const fault of Array.isArray(value) ? value : [value]) faults.add(fault as Fault);
          return json({ faults: faults.list() });
        }
        case "DELETE faults":
          faults.clear();
          return json({ faults: [] });
        case "POST reset":
          await reset();
          return json({ reset: true });
        case "GET default-vpc":
          return json({ present: state.data.defaultVpc });
        case "POST default-vpc":
        case "PUT default-vpc": {
          const { present } = parsed() as { present?: unknown };
          if (typeof present !== "boolean") return json({ error: 'body must be {"present": true|false}' }, 400);
          setDefaultVpc(present);
          return json({ present });
        }
        case "GET state":
          return json(state.data);
        case "GET health":
          return json({ ok: true, runtimeUnavailable: unavailable });
        default:
          return json({ error: `no hook ${method} ${HOOKS_PREFIX}${path}; see the README of @ferry/aws-local` }, 404);
      }
    } catch (error) {
      return json({ error: (error as Error).message }, 400);
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  lifecycle.resume();

  return {
    endpoint: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    port,
    credentials: { accessKeyId: options.rootAccessKeyId, secretAccessKey: "aws-local-secret" },
    accountId: options.accountId,
    calls: () => calls.map((c) => ({ ...c })),
    clearCalls: () => void (calls.length = 0),
    injectFault: (fault) => faults.add(fault),
    faults: () => faults.list(),
    clearFaults: () => faults.clear(),
    setDefaultVpc,
    reset,
    state,
    runtimeUnavailable: unavailable,
    async close() {
      await lifecycle.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      state.save();
    },
  };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export interface AwsRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** The URL's query string, with its `?`. */
  query: string;
  body: string;
}

/** Routes a request by its SigV4 scope and target, checks its key, and answers in the service's protocol. */
export class AwsRequestHandler {
  constructor(
    private readonly services: AwsService[],
    private readonly options: ResolvedAwsLocalOptions,
    private readonly state: AwsLocalState,
    private readonly faults: FaultInjector,
    private readonly calls: CallRecord[],
  ) {}

  /** S3's buckets, in memory (not in the state file). */
  readonly s3 = new S3Buckets();

  /** An S3 request: its key checked like every call's, then answered and logged (`calls()`) as `s3:GetObject`…. */
  handleS3(request: S3Request): S3Response {
    const scope = parseSigV4Authorization(firstHeader(request.headers.authorization))!;
    const principal = this.principal(scope.accessKeyId);
    const now = this.options.now();
    const answer = principal
      ? this.s3.handle(request, now)
      : this.s3Denied(request);
    this.calls.push({
      service: "s3", operation: answer.operation, region: scope.region, accessKeyId: scope.accessKeyId, userName: principal?.userName ?? null,
      time: now.toISOString(), status: answer.status, ...(answer.error ? { error: answer.error } : {}),
      resource: decodeURIComponent(request.path),
    });
    return answer;
  }

  private s3Denied(request: S3Request): S3Response {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not exist in our records.</Message></Error>`;
    return { status: 403, operation: request.method, error: "InvalidAccessKeyId", headers: { "content-type": "application/xml" }, body: Buffer.from(request.method === "HEAD" ? "" : xml) };
  }

  async handle(request: AwsRequest): Promise<EncodedResponse> {
    const requestId = randomUUID();
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const target = header("x-amz-target");
    const scope = parseSigV4Authorization(header("authorization"));
    const fallbackProtocol: WireProtocol = target !== undefined ? "json" : "query";
    if (scope === null) {
      const code = fallbackProtocol === "json" ? "MissingAuthenticationTokenException" : "MissingAuthenticationToken";
      return encodeError(fallbackProtocol, new AwsError(code, "Missing Authentication Token", 403), requestId);
    }
    const service = this.services.find((s) => s.signingName === scope.service);
    if (service === undefined) return encodeError(fallbackProtocol, new AwsError("UnknownServiceException", `aws-local does not serve '${scope.service}'`, 400), requestId);

    let operation: string | undefined;
    let queryBody = "";
    if (service.protocol === "json") {
      operation = target?.startsWith(`${service.targetPrefix}.`) ? target.slice(service.targetPrefix.length + 1) : undefined;
    } else {
      queryBody = request.method === "GET" ? request.query.replace(/^\?/, "") : request.body;
      operation = new URLSearchParams(queryBody).get("Action") ?? undefined;
    }
    const principal = this.principal(scope.accessKeyId);
    const record: CallRecord = { service: service.signingName, operation: operation ?? "(unknown)", region: scope.region, accessKeyId: scope.accessKeyId, userName: principal?.userName ?? null, time: this.options.now().toISOString(), status: 0 };
    const answer = await this.answer(service, operation, principal, scope.region, request.body, queryBody, requestId);
    record.status = answer.response.status;
    if (answer.error !== undefined) record.error = answer.error;
    this.calls.push(record);
    return answer.response;
  }

  private principal(accessKeyId: string): Principal | null {
    const { accountId } = this.options;
    if (accessKeyId === this.options.rootAccessKeyId) return { accessKeyId, userName: null, arn: `arn:aws:iam::${accountId}:root`, userId: accountId };
    const key = this.state.data.iam.accessKeys[accessKeyId];
    const user = key === undefined || key.status !== "Active" ? undefined : this.state.data.iam.users[key.userName];
    if (user === undefined) return null;
    return { accessKeyId, userName: user.name, arn: user.arn, userId: user.id };
  }

  private async answer(service: AwsService, operation: string | undefined, principal: Principal | null, region: string, body: string, queryBody: string, requestId: string): Promise<{ response: EncodedResponse; error?: string }> {
    const fail = (error: AwsError): { response: EncodedResponse; error: string } => ({ response: encodeError(service.protocol, error, requestId), error: error.code });
    if (principal === null) {
      if (service.protocol === "json") return fail(new AwsError("UnrecognizedClientException", "The security token included in the request is invalid.", 400));
      if (service.protocol === "ec2") return fail(new AwsError("AuthFailure", "AWS was not able to validate the provided access credentials", 401));
      return fail(new AwsError("InvalidClientTokenId", "The security token included in the request is invalid.", 403));
    }
    const implementation = operation === undefined ? undefined : service.operations[operation];
    if (operation === undefined || implementation === undefined) {
      if (service.protocol === "json") return fail(new AwsError("UnknownOperationException", `aws-local does not implement ${service.signingName}:${operation ?? "(no X-Amz-Target)"}`));
      return fail(new AwsError("InvalidAction", `The action ${operation ?? "(none)"} is not valid for this web service.`));
    }
    const injected = this.faults.take(service.signingName, operation);
    if (injected !== null) return fail(injected);

    const ctx: ServiceContext = { region, accountId: this.options.accountId, principal, state: this.state, now: this.options.now };
    try {
      let response: EncodedResponse;
      if (service.protocol === "json") {
        let input: unknown;
        try {
          input = body === "" ? {} : JSON.parse(body);
        } catch {
          return fail(new AwsError("SerializationException", "Start of structure or map found where not expected."));
        }
        const output = await (implementation as JsonOperation)(ctx, input as Record<string, unknown>);
        response = encodeJsonResult(output, requestId);
      } else {
        const input = QueryInput.of(parseQueryBody(queryBody), service.missingParameter);
        const output = (implementation as QueryOperation)(ctx, input);
        response = service.protocol === "ec2" ? encodeEc2Result(operation, service.xmlns, output, requestId) : encodeQueryResult(operation, service.xmlns, output, requestId);
      }
      if (!READ_ONLY.test(operation) || service.signingName === "ec2") this.state.save();
      return { response };
    } catch (error) {
      if (isAwsError(error)) return fail(error);
      console.error(`aws-local: ${service.signingName}:${operation} failed`, error);
      return fail(new AwsError(service.protocol === "json" ? "ServerException" : "InternalFailure", `aws-local: ${(error as Error).message}`, 500, "Receiver"));
    }
  }
}
