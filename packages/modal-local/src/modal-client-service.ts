import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { JwtSigner } from "./auth.js";
import type { ImageBuilds, ImageSpec } from "./image-build.js";
import { newId } from "./ids.js";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, serverStream, unary, type RpcPlumbing } from "./rpc.js";
import type { SandboxLifecycle } from "./sandbox-lifecycle.js";
import { planSandbox, tagsList, tagsRecord, type SandboxDefinitionMessage, type TagMessage } from "./sandbox-requests.js";
import type { GenericResult } from "./sandbox-result.js";
import { hasTags, type AppRecord, type ModalLocalState, type SandboxRecord } from "./state.js";

const CREATE_IF_MISSING = 1;
const EPHEMERAL = 5;
const FILE_DESCRIPTOR_STDERR = 2;
/** Longest a long poll (wait, log stream, image join) holds a call, whatever the client asks. */
const MAX_POLL_SECONDS = 55;
const LIST_PAGE_SIZE = 100;

export interface ModalClientServiceDeps {
  state: ModalLocalState;
  lifecycle: SandboxLifecycle;
  images: ImageBuilds;
  signer: JwtSigner;
  plumbing: RpcPlumbing;
  imageBuilderVersion: string;
  /** The command router's URL handed to clients (`https://<host>:<port>`; the SDK dials loopback in plaintext). */
  routerUrl: () => string;
  now: () => Date;
}

interface SecretSourceMessage {
  secretId?: string;
  env?: { contents?: Record<string, string> } | null;
  source?: string;
}

function pollMs(timeoutSeconds: number | undefined): number {
  return Math.min(Math.max(timeoutSeconds ?? 0, 0), MAX_POLL_SECONDS) * 1000;
}

/** `modal.client.ModalClient`: the RPCs Ferry's calls make through the official SDK. */
export function modalClientService(deps: ModalClientServiceDeps): UntypedServiceImplementation {
  const { state, lifecycle, images, signer, plumbing } = deps;
  let lastCreatedAt = 0;

  const environment = (name: string): string => {
    const resolved = state.environmentName(name);
    if (!state.environments.has(resolved)) throw notFound(`Environment '${resolved}' not found`);
    return resolved;
  };
  const appById = (appId: string): AppRecord => {
    const app = state.apps.get(appId);
    if (app === undefined) throw notFound(`App ${appId} not found`);
    return app;
  };
  const sandboxById = (sandboxId: string): SandboxRecord => {
    const sb = state.sandboxes.get(sandboxId);
    if (sb === undefined) throw notFound(`Sandbox ${sandboxId} not found`);
    return sb;
  };
  const sandboxByTaskId = (taskId: string): SandboxRecord => {
    for (const sb of state.sandboxes.values()) if (sb.taskId === taskId) return sb;
    throw notFound(`Task ${taskId} not found`);
  };
  const routerAccess = (sb: SandboxRecord): { jwt: string; url: string } => ({ jwt: signer.sign({ task_id: sb.taskId, sandbox_id: sb.id }, 3600), url: deps.routerUrl() });
  const metadata = (sb: SandboxRecord): { appId: string; result: GenericResult | null } => ({ appId: sb.appId, result: sb.result });
  const secretEnv = (secretId: string): Record<string, string> => {
    const secret = state.secrets.get(secretId);
    if (secret === undefined) throw notFound(`Secret ${secretId} not found`);
    return secret.env;
  };

  const createSandbox = (version: 1 | 2, request: { appId: string; definition?: SandboxDefinitionMessage | null; tags?: TagMessage[] }, extraEnv: Record<string, string>[]): SandboxRecord => {
    const app = appById(request.appId);
    const plan = planSandbox(request.definition);
    const image = state.images.get(plan.imageId);
    if (image === undefined) throw notFound(`Image ${plan.imageId} not found`);
    if (image.status !== "built") throw failedPrecondition(`Image ${plan.imageId} is not built (${image.status})`);
    if (plan.name !== null && state.findRunningSandbox(app.id, plan.name) !== undefined) {
      throw alreadyExists(`Sandbox with name '${plan.name}' already exists in App '${app.name}'`);
    }
    const secretIds = request.definition?.secretIds ?? [];
    const env: Record<string, string> = {};
    for (const id of secretIds) Object.assign(env, secretEnv(id));
    for (const extra of extraEnv) Object.assign(env, extra);
    Object.assign(env, plan.env);
    // Strictly increasing: SandboxList pages on created_at, and two sandboxes made in one millisecond must both be listed.
    lastCreatedAt = Math.max(deps.now().getTime(), lastCreatedAt + 0.001);
    const sb = state.newSandbox({
      version,
      appId: app.id,
      environmentName: app.environmentName,
      name: plan.name,
      tags: tagsRecord(request.tags),
      imageId: image.id,
      command: plan.command,
      env,
      secretIds,
      timeoutSecs: plan.timeoutSecs,
      workdir: plan.workdir,
      milliCpu: plan.milliCpu,
      memoryMib: plan.memoryMib,
      gpu: plan.gpu,
      regions: plan.regions,
      createdAt: lastCreatedAt,
    });
    lifecycle.launch(sb, image);
    return sb;
  };

  const getTaskId = async (request: { sandboxId: string; timeout?: number | null }, signal: AbortSignal): Promise<{ taskId?: string; taskResult?: GenericResult }> => {
    const sb = sandboxById(request.sandboxId);
    const deadline = Date.now() + pollMs(request.timeout ?? 0);
    while (!sb.scheduled && sb.result === null && Date.now() < deadline && !signal.aborted) await sb.changed.next(deadline - Date.now(), signal);
    if (sb.scheduled) return { taskId: sb.taskId };
    if (sb.result !== null) return { taskResult: sb.result };
    return {};
  };

  const wait = async (request: { sandboxId: string; timeout?: number }, signal: AbortSignal): Promise<{ result: GenericResult | null; metadata: ReturnType<typeof metadata> }> => {
    const sb = sandboxById(request.sandboxId);
    const deadline = Date.now() + pollMs(request.timeout);
    while (sb.result === null && Date.now() < deadline && !signal.aborted) await sb.changed.next(deadline - Date.now(), signal);
    return { result: sb.result, metadata: metadata(sb) };
  };

  const terminate = async (request: { sandboxId: string }): Promise<{ existingResult: GenericResult | null }> => {
    const sb = sandboxById(request.sandboxId);
    if (sb.result !== null) return { existingResult: sb.result };
    await lifecycle.terminate(sb);
    return { existingResult: null };
  };

  const list = (versions: (1 | 2)[]) => (request: { appId: string; beforeTimestamp: number; environmentName: string; includeFinished: boolean; tags: TagMessage[] }) => {
    const envName = request.appId ? appById(request.appId).environmentName : environment(request.environmentName);
    const before = request.beforeTimestamp > 0 ? request.beforeTimestamp * 1000 : Infinity;
    const found = [...state.sandboxes.values()]
      .filter((sb) => versions.includes(sb.version))
      .filter((sb) => (request.appId ? sb.appId === request.appId : sb.environmentName === envName))
      .filter((sb) => request.includeFinished || sb.result === null)
      .filter((sb) => hasTags(sb.tags, request.tags))
      .filter((sb) => sb.createdAt < before)
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, LIST_PAGE_SIZE);
    return {
      sandboxes: found.map((sb) => ({
        id: sb.id,
        createdAt: sb.createdAt / 1000,
        appId: sb.appId,
        tags: tagsList(sb.tags),
        name: sb.name ?? "",
        imageId: sb.imageId,
        regions: sb.regions,
        timeoutSecs: sb.timeoutSecs,
        taskInfo: { id: sb.taskId, startedAt: (sb.startedAt ?? 0) / 1000, finishedAt: (sb.finishedAt ?? 0) / 1000, result: sb.result, enqueuedAt: sb.createdAt / 1000, sandboxId: sb.id },
        metadata: metadata(sb),
      })),
    };
  };

  const getFromName = (version: 1 | 2) => (request: { sandboxName: string; environmentName: string; appName: string; includeTerminated: boolean }) => {
    const envName = environment(request.environmentName);
    const app = state.findApp(request.appName, envName);
    if (app === undefined) throw notFound(`App '${request.appName}' not found in environment '${envName}'`);
    const running = state.findRunningSandbox(app.id, request.sandboxName);
    const latest = request.includeTerminated && version === 2 ? state.findLatestSandbox(app.id, request.sandboxName) : undefined;
    const sb = running ?? latest;
    if (sb === undefined || sb.version !== version) throw notFound(`Sandbox with name '${request.sandboxName}' not found in App '${request.appName}'`);
    return { sandboxId: sb.id, metadata: metadata(sb) };
  };

  const setTags = (request: { sandboxId: string; tags: TagMessage[] }) => {
    const sb = sandboxById(request.sandboxId);
    for (const t of request.tags) if (!t.tagName) throw invalidArgument("Tag names must be non-empty.");
    sb.tags = tagsRecord(request.tags);
    return {};
  };
  const getTags = (request: { sandboxId: string }) => ({ tags: tagsList(sandboxById(request.sandboxId).tags) });

  return {
    AuthTokenGet: unary(plumbing, "AuthTokenGet", (_req: unknown, ctx) => ({ token: signer.sign({ sub: ctx.tokenId ?? "" }, 3600) })),
    ClientHello: unary(plumbing, "ClientHello", () => ({ warning: "", imageBuilderVersion: deps.imageBuilderVersion, serverWarnings: [] })),

    EnvironmentGetOrCreate: unary(plumbing, "EnvironmentGetOrCreate", (req: { deploymentName: string; objectCreationType: number }) => {
      const name = state.environmentName(req.deploymentName);
      let env = state.environments.get(name);
      if (env === undefined && req.objectCreationType === CREATE_IF_MISSING) {
        env = { id: newId("en"), name };
        state.environments.set(name, env);
      }
      if (env === undefined) throw notFound(`Environment '${name}' not found`);
      return { environmentId: env.id, metadata: { name: env.name, settings: { imageBuilderVersion: deps.imageBuilderVersion, webhookSuffix: "" } } };
    }),

    AppGetOrCreate: unary(plumbing, "AppGetOrCreate", (req: { appName: string; environmentName: string; objectCreationType: number }) => {
      const envName = environment(req.environmentName);
      if (!/^[a-zA-Z0-9\-_.]{1,64}$/.test(req.appName)) throw invalidArgument(`Invalid App name: '${req.appName}'.`);
      let app = state.findApp(req.appName, envName);
      if (app === undefined && req.objectCreationType === CREATE_IF_MISSING) {
        app = { id: newId("ap"), name: req.appName, environmentName: envName, createdAt: deps.now().getTime() };
        state.apps.set(app.id, app);
      }
      if (app === undefined) throw notFound(`App '${req.appName}' not found in environment '${envName}'`);
      return { appId: app.id, handleMetadata: { description: app.name, appId: app.id, environmentName: app.environmentName } };
    }),

    SecretGetOrCreate: unary(plumbing, "SecretGetOrCreate", (req: { deploymentName: string; environmentName: string; objectCreationType: number; envDict: Record<string, string>; requiredKeys: string[] }) => {
      const envName = environment(req.environmentName);
      if (req.objectCreationType === EPHEMERAL) {
        const id = newId("st");
        state.secrets.set(id, { id, name: null, environmentName: envName, env: { ...req.envDict }, ephemeral: true, createdAt: deps.now().getTime() });
        return { secretId: id };
      }
      let secret = state.findNamedSecret(req.deploymentName, envName);
      if (secret === undefined && req.objectCreationType === CREATE_IF_MISSING) {
        secret = { id: newId("st"), name: req.deploymentName, environmentName: envName, env: { ...req.envDict }, ephemeral: false, createdAt: deps.now().getTime() };
        state.secrets.set(secret.id, secret);
      }
      if (secret === undefined) throw notFound(`Secret '${req.deploymentName}' not found in environment '${envName}'`);
      const missing = req.requiredKeys.filter((k) => !(k in secret.env));
      if (missing.length > 0) throw failedPrecondition(`Secret is missing key(s): ${missing.join(", ")}`);
      return { secretId: secret.id };
    }),

    ImageGetOrCreate: unary(plumbing, "ImageGetOrCreate", (req: { image?: { baseImages: { imageId: string; dockerTag: string }[]; dockerfileCommands: string[]; secretIds: string[]; gpuConfig?: { gpuType: string } | null } | null; appId: string; forceBuild: boolean; builderVersion: string }) => {
      appById(req.appId);
      if (!req.image || req.image.dockerfileCommands.length === 0) throw invalidArgument("An image needs Dockerfile commands, starting with FROM.");
      for (const base of req.image.baseImages) if (!state.images.has(base.imageId)) throw notFound(`Image ${base.imageId} not found`);
      const spec: ImageSpec = {
        dockerfileCommands: req.image.dockerfileCommands,
        baseImages: req.image.baseImages.map((b) => ({ dockerTag: b.dockerTag, imageId: b.imageId })),
        builderVersion: req.builderVersion,
        secretIds: req.image.secretIds,
        gpu: req.image.gpuConfig?.gpuType ?? "",
      };
      const image = images.getOrCreate(spec, req.forceBuild);
      return { imageId: image.id, result: image.result };
    }),

    ImageJoinStreaming: serverStream(plumbing, "ImageJoinStreaming", async (req: { imageId: string; timeout: number; lastEntryId: string }, write, ctx) => {
      const image = state.images.get(req.imageId);
      if (image === undefined) throw notFound(`Image ${req.imageId} not found`);
      let sent = Number.parseInt(req.lastEntryId || "0", 10) || 0;
      const deadline = Date.now() + pollMs(req.timeout || MAX_POLL_SECONDS);
      for (;;) {
        if (image.logs.length > sent) {
          const lines = image.logs.slice(sent);
          sent = image.logs.length;
          write({ taskLogs: lines.map((data) => ({ data, fileDescriptor: 1, timestamp: Date.now() / 1000 })), entryId: String(sent) });
        }
        if (image.result !== null) {
          write({ result: image.result, entryId: String(sent), eof: true });
          return;
        }
        if (Date.now() >= deadline || ctx.signal.aborted) return;
        await image.changed.next(deadline - Date.now(), ctx.signal);
      }
    }),

    SandboxCreate: unary(plumbing, "SandboxCreate", (req: { appId: string; definition?: SandboxDefinitionMessage | null; tags: TagMessage[] }) => {
      const sb = createSandbox(1, req, []);
      return { sandboxId: sb.id, metadata: metadata(sb) };
    }),
    SandboxCreateV2: unary(plumbing, "SandboxCreateV2", (req: { appId: string; definition?: SandboxDefinitionMessage | null; tags: TagMessage[]; ephemeralSecrets?: { contents?: Record<string, string> } | null; secretSources: SecretSourceMessage[] }) => {
      const extra: Record<string, string>[] = [];
      if (req.ephemeralSecrets?.contents) extra.push(req.ephemeralSecrets.contents);
      for (const source of req.secretSources) {
        if (source.secretId) extra.push(secretEnv(source.secretId));
        else if (source.env?.contents) extra.push(source.env.contents);
      }
      const sb = createSandbox(2, req, extra);
      return { sandboxId: sb.id, taskId: sb.taskId, metadata: metadata(sb), commandRouterAccess: routerAccess(sb) };
    }),
    SandboxGetTaskId: unary(plumbing, "SandboxGetTaskId", (req: { sandboxId: string; timeout?: number | null }, ctx) => getTaskId(req, ctx.signal)),
    SandboxGetTaskIdV2: unary(plumbing, "SandboxGetTaskIdV2", (req: { sandboxId: string; timeout?: number | null }, ctx) => getTaskId(req, ctx.signal)),
    SandboxWait: unary(plumbing, "SandboxWait", (req: { sandboxId: string; timeout: number }, ctx) => wait(req, ctx.signal)),
    SandboxWaitV2: unary(plumbing, "SandboxWaitV2", (req: { sandboxId: string; timeout: number }, ctx) => wait(req, ctx.signal)),
    SandboxTerminate: unary(plumbing, "SandboxTerminate", terminate),
    SandboxTerminateV2: unary(plumbing, "SandboxTerminateV2", terminate),
    SandboxList: unary(plumbing, "SandboxList", list([1])),
    SandboxListV2: unary(plumbing, "SandboxListV2", list([1, 2])),
    SandboxGetFromName: unary(plumbing, "SandboxGetFromName", getFromName(1)),
    SandboxGetFromNameV2: unary(plumbing, "SandboxGetFromNameV2", getFromName(2)),
    SandboxTagsSet: unary(plumbing, "SandboxTagsSet", setTags),
    SandboxTagsSetV2: unary(plumbing, "SandboxTagsSetV2", setTags),
    SandboxTagsGet: unary(plumbing, "SandboxTagsGet", getTags),
    SandboxTagsGetV2: unary(plumbing, "SandboxTagsGetV2", getTags),
    SandboxGetCommandRouterAccess: unary(plumbing, "SandboxGetCommandRouterAccess", (req: { sandboxId?: string; taskId?: string }) =>
      routerAccess(req.sandboxId ? sandboxById(req.sandboxId) : sandboxByTaskId(req.taskId ?? "")),
    ),
    TaskGetCommandRouterAccess: unary(plumbing, "TaskGetCommandRouterAccess", (req: { taskId: string }) => routerAccess(sandboxByTaskId(req.taskId))),

    SandboxGetLogs: serverStream(plumbing, "SandboxGetLogs", async (req: { sandboxId: string; fileDescriptor: number; timeout: number; lastEntryId: string }, write, ctx) => {
      const sb = sandboxById(req.sandboxId);
      const output = req.fileDescriptor === FILE_DESCRIPTOR_STDERR ? sb.stderr : sb.stdout;
      // Entry ids are "<entries read>-0"; the SDK starts from "0-0".
      let sent = Number.parseInt((req.lastEntryId || "0-0").split("-")[0] ?? "0", 10) || 0;
      const deadline = Date.now() + pollMs(req.timeout || MAX_POLL_SECONDS);
      for (;;) {
        const finished = sb.result !== null;
        const entries = output.entriesFrom(sent);
        if (entries.length > 0) {
          sent += entries.length;
          write({ taskId: sb.taskId, sandboxId: sb.id, entryId: `${sent}-0`, items: entries.map((e) => ({ data: e.data, timestamp: e.timestamp / 1000, fileDescriptor: req.fileDescriptor })) });
        }
        if (finished) {
          write({ taskId: sb.taskId, sandboxId: sb.id, entryId: `${sent}-0`, items: [], eof: true });
          return;
        }
        if (Date.now() >= deadline || ctx.signal.aborted) return;
        await sb.changed.next(deadline - Date.now(), ctx.signal);
      }
    }),
  };
}
