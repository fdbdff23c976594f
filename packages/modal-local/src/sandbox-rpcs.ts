import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { JwtSigner } from "./auth.js";
import { appOf, environmentOf, MAX_POLL_SECONDS, pollMs } from "./lookups.js";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, serverStream, unary, type RpcPlumbing } from "./rpc.js";
import type { SandboxLifecycle } from "./sandbox-lifecycle.js";
import { planSandbox, tagsList, tagsRecord, type SandboxDefinitionMessage, type TagMessage } from "./sandbox-requests.js";
import type { GenericResult } from "./sandbox-result.js";
import { hasTags, type ModalLocalState, type SandboxRecord } from "./state.js";

const FILE_DESCRIPTOR_STDERR = 2;
const LIST_PAGE_SIZE = 100;

export interface SandboxRpcsDeps {
  state: ModalLocalState;
  lifecycle: SandboxLifecycle;
  signer: JwtSigner;
  plumbing: RpcPlumbing;
  /** The command router's URL handed to clients (`https://<host>:<port>`; the SDK dials loopback in plaintext). */
  routerUrl: () => string;
  now: () => Date;
}

interface SecretSourceMessage {
  secretId?: string;
  env?: { contents?: Record<string, string> } | null;
  source?: string;
}

/** The sandbox RPCs of `modal.client.ModalClient`, V1 and V2 (the SDK picks the family by the sandbox id's shape). */
export function sandboxRpcs(deps: SandboxRpcsDeps): UntypedServiceImplementation {
  const { state, lifecycle, signer, plumbing } = deps;
  let lastCreatedAt = 0;
  const environment = (name: string): string => environmentOf(state, name);
  const appById = (appId: string) => appOf(state, appId);

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
      memoryLimitMib: plan.memoryLimitMib,
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
    lifecycle.terminate(sb);
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
