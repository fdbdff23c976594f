import { randomUUID } from "node:crypto";
import Dockerode from "dockerode";
import { Server, ServerCredentials, type Metadata } from "@grpc/grpc-js";
import { DockerContainerRuntime, type ContainerRuntime } from "@ferry/local-containers";
import { JwtSigner, TokenBook, type ModalToken } from "./auth.js";
import { DockerImageBuilder } from "./docker-image-builder.js";
import { FaultBook, type Fault, type PendingFault } from "./faults.js";
import { HoldBook, type HeldAnswer } from "./holds.js";
import { ImageBuilds, type ImageBuilder } from "./image-build.js";
import { newId } from "./ids.js";
import { modalClientService } from "./modal-client-service.js";
import { resolveModalLocalOptions, type ModalLocalOptions, type ResolvedModalLocalOptions } from "./modal-local-options.js";
import { loadModalServices } from "./proto.js";
import { metadataValue, unauthenticated, type CallRecord, type RpcPlumbing } from "./rpc.js";
import { SandboxLifecycle } from "./sandbox-lifecycle.js";
import { ModalLocalState, type SandboxRecord } from "./state.js";
import { describeSandbox, snapshotState, type ModalLocalSnapshot, type SandboxView } from "./views.js";
import { taskCommandRouterService } from "./task-command-router-service.js";

/** A running local Modal server. */
export interface ModalLocal {
  /** For `MODAL_SERVER_URL` or the client's `serverUrl` param: `http://127.0.0.1:<port>` (plaintext gRPC). */
  url: string;
  port: number;
  /** A token the server accepts. */
  token: ModalToken;
  /** Why sandboxes cannot run as containers (an engine was wanted and does not answer), or null. */
  runtimeUnavailable: string | null;
  /** Whether sandboxes live in memory (`docker: null`): they run until terminated, timed out or `completeSandbox`. */
  inMemory: boolean;
  calls(): CallRecord[];
  clearCalls(): void;
  injectFault(fault: Fault): void;
  faults(): PendingFault[];
  clearFaults(): void;
  /**
   * Holds the reply of the next call of `rpc` (e.g. `SandboxCreateV2`) after it took effect, until
   * `release()`: what a client sees when it dies before the answer reaches it.
   */
  holdNext(rpc: string): HeldAnswer;
  /** Every sandbox, oldest first. */
  sandboxes(): SandboxView[];
  /** A sandbox by id, or by name (the latest of that name). */
  sandbox(idOrName: string): SandboxView | undefined;
  /** Ends an in-memory sandbox as if its program printed `stdout`/`stderr` and exited with `exitCode`. */
  completeSandbox(idOrName: string, exit: { exitCode: number; stdout?: string; stderr?: string }): void;
  /** Appends output to a running in-memory sandbox. */
  printToSandbox(idOrName: string, stream: "stdout" | "stderr", text: string): void;
  /** Adds a token the server accepts (e.g. a second user's). */
  addToken(token?: ModalToken): ModalToken;
  /** Revokes a token: its calls then fail UNAUTHENTICATED, as Modal answers a revoked token. */
  revokeToken(tokenId: string): void;
  /** Creates a named secret, as `modal secret create` does. */
  addSecret(name: string, env: Record<string, string>, environment?: string): string;
  /** The state as JSON-able data (secret values left out). */
  snapshot(): ModalLocalSnapshot;
  close(): Promise<void>;
}

async function pickRuntime(options: ResolvedModalLocalOptions): Promise<{ runtime: ContainerRuntime | null; builder: ImageBuilder | null; unavailable: string | null }> {
  const builder = options.imageBuilder;
  if (options.runtime !== undefined) return { runtime: options.runtime, builder: builder ?? null, unavailable: null };
  if (options.docker === null) return { runtime: null, builder: builder ?? null, unavailable: null };
  const docker = options.docker ?? new Dockerode();
  const answer = await Promise.race([
    docker.ping().then(
      () => null,
      (error: Error) => error.message,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("no answer within 2 s"), 2_000).unref()),
  ]);
  if (answer !== null) return { runtime: null, builder: builder ?? null, unavailable: `Docker is not answering (${answer})` };
  const runtime = new DockerContainerRuntime(docker, { network: options.network, serverId: randomUUID(), labelPrefix: "modal-local" });
  return { runtime, builder: builder === undefined ? new DockerImageBuilder(docker, options.network) : builder, unavailable: null };
}

function randomToken(): ModalToken {
  return { tokenId: newId("ak"), tokenSecret: newId("as") };
}

const ROUTER_RPCS = new Set(["SandboxStdioReadV2"]);

/** Starts a local server speaking the Modal API of Ferry's calls (see README). */
export async function startModalLocal(input: ModalLocalOptions = {}): Promise<ModalLocal> {
  const options = resolveModalLocalOptions(input);
  const { runtime, builder, unavailable } = await pickRuntime(options);
  const state = new ModalLocalState(options.environments);
  const tokens = new TokenBook();
  const token = options.token ?? randomToken();
  tokens.add(token);
  const signer = new JwtSigner(options.now);
  const faults = new FaultBook();
  const holds = new HoldBook();
  let calls: CallRecord[] = [];
  const plumbing: RpcPlumbing = {
    faults,
    holds,
    now: options.now,
    record: (call) => calls.push(call),
    authenticate(rpc: string, metadata: Metadata): string | null {
      if (ROUTER_RPCS.has(rpc)) return null; // the router checks its own bearer token
      const checked = tokens.check(metadataValue(metadata, "x-modal-token-id"), metadataValue(metadata, "x-modal-token-secret"));
      if (!checked.ok) throw unauthenticated(checked.message);
      return checked.tokenId;
    },
  };
  const lifecycle = new SandboxLifecycle({
    runtime,
    runtimeUnavailable: unavailable,
    terminateGraceSeconds: options.terminateGraceSeconds,
    sandboxEnvironment: options.sandboxEnvironment,
    now: options.now,
  });
  const images = new ImageBuilds(state, builder, options.imageLayers);
  const services = loadModalServices();
  const server = new Server();
  let port = 0;
  server.addService(
    services.modalClient,
    modalClientService({ state, lifecycle, images, signer, plumbing, imageBuilderVersion: options.imageBuilderVersion, routerUrl: () => `https://${options.host}:${port}`, now: options.now }),
  );
  server.addService(services.taskCommandRouter, taskCommandRouterService({ state, signer, plumbing }));
  port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });

  const find = (idOrName: string): SandboxRecord => {
    const byId = state.sandboxes.get(idOrName);
    if (byId !== undefined) return byId;
    let latest: SandboxRecord | undefined;
    for (const sb of state.sandboxes.values()) if (sb.name === idOrName && (latest === undefined || sb.createdAt >= latest.createdAt)) latest = sb;
    if (latest === undefined) throw new Error(`modal-local has no sandbox with id or name "${idOrName}"`);
    return latest;
  };

  return {
    url: `http://${options.host}:${port}`,
    port,
    token,
    runtimeUnavailable: unavailable,
    inMemory: runtime === null && unavailable === null,
    calls: () => calls.map((c) => ({ ...c })),
    clearCalls: () => {
      calls = [];
    },
    injectFault: (fault) => faults.add(fault),
    faults: () => faults.list(),
    clearFaults: () => faults.clear(),
    holdNext: (rpc) => holds.holdNext(rpc),
    sandboxes: () => [...state.sandboxes.values()].sort((a, b) => a.createdAt - b.createdAt).map((sb) => describeSandbox(state, sb)),
    sandbox: (idOrName) => {
      try {
        return describeSandbox(state, find(idOrName));
      } catch {
        return undefined;
      }
    },
    completeSandbox: (idOrName, exit) => lifecycle.complete(find(idOrName), exit),
    printToSandbox: (idOrName, stream, text) => lifecycle.print(find(idOrName), stream, text),
    addToken: (extra) => {
      const added = extra ?? randomToken();
      tokens.add(added);
      return added;
    },
    revokeToken: (tokenId) => {
      if (!tokens.revoke(tokenId)) throw new Error(`modal-local has no token "${tokenId}"`);
    },
    addSecret: (name, env, environment = "main") => {
      const id = newId("st");
      state.secrets.set(id, { id, name, environmentName: environment, env: { ...env }, ephemeral: false, createdAt: options.now().getTime() });
      return id;
    },
    snapshot: () => snapshotState(state),
    close: async () => {
      server.forceShutdown();
      await lifecycle.close();
      await images.close();
    },
  };
}


