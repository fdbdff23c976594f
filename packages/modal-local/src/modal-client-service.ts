import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { ImageBuilds, ImageSpec } from "./image-build.js";
import { newId } from "./ids.js";
import { appOf, environmentOf, MAX_POLL_SECONDS, pollMs } from "./lookups.js";
import { failedPrecondition, invalidArgument, notFound, serverStream, unary } from "./rpc.js";
import { sandboxRpcs, type SandboxRpcsDeps } from "./sandbox-rpcs.js";

const CREATE_IF_MISSING = 1;
const EPHEMERAL = 5;

export interface ModalClientServiceDeps extends SandboxRpcsDeps {
  images: ImageBuilds;
  imageBuilderVersion: string;
}

/** `modal.client.ModalClient`: the RPCs Ferry's calls make through the official SDK (sandboxes: sandbox-rpcs.ts). */
export function modalClientService(deps: ModalClientServiceDeps): UntypedServiceImplementation {
  const { state, images, signer, plumbing } = deps;
  const environment = (name: string): string => environmentOf(state, name);
  const appById = (appId: string) => appOf(state, appId);

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
    ...sandboxRpcs(deps),
  };
}
