import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Dockerode from "dockerode";
import type { ModalClient } from "modal";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";
import { MODAL_LOCAL_LABELS, startModalLocal, type ModalLocal } from "../src/index.js";
import { modalClient } from "./helpers.js";

const IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-base:bookworm";
const docker = new Dockerode();
const needsDocker = await dockerService({ images: [IMAGE] });

describe("sandboxes as Docker containers, through the official SDK", needsDocker, () => {
  let local: ModalLocal;
  let modal: ModalClient;
  let hostServer: Server;
  let hostUrl: string;

  beforeAll(async () => {
    local = await startModalLocal({ docker, terminateGraceSeconds: 2, sandboxEnvironment: { FERRY_FROM_SERVER: "yes" } });
    modal = modalClient(local);
    hostServer = createServer((_req, res) => res.end("reached the host"));
    await new Promise<void>((resolve) => hostServer.listen(0, "127.0.0.1", resolve));
    hostUrl = `http://127.0.0.1:${(hostServer.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await local?.close();
    hostServer?.close();
  });

  const app = () => modal.apps.fromName("ferry", { createIfMissing: true });
  const containerState = async (id: string) => (await docker.getContainer(id).inspect()).State;

  it("runs a sandbox to its exit code, with its secrets as variables, its output on stdout/stderr, and the host's 127.0.0.1 in reach", async () => {
    const secret = await modal.secrets.fromObject({ FERRY_RUN_TOKEN: "tok-e2e" });
    const script = `import os, sys, urllib.request
print("token", os.environ["FERRY_RUN_TOKEN"], os.environ["FERRY_FROM_SERVER"])
print(urllib.request.urlopen("${hostUrl}").read().decode())
print("oops", file=sys.stderr)
sys.exit(3)`;
    const sb = await modal.sandboxes.create(await app(), modal.images.fromRegistry(IMAGE), { name: "e2e-exit", command: ["python3", "-c", script], secrets: [secret], tags: { "ferry-run": "e2e" } });
    expect(await sb.wait()).toBe(3);
    expect(await sb.stdout.readText()).toBe("token tok-e2e yes\nreached the host\n");
    expect(await sb.stderr.readText()).toBe("oops\n");
    const view = local.sandbox(sb.sandboxId)!;
    expect(view).toMatchObject({ status: "finished", exitCode: 3, imageRef: IMAGE });
    const container = await docker.getContainer(view.containerId!).inspect();
    expect(container.Config.Labels[MODAL_LOCAL_LABELS.key]).toBe(sb.sandboxId);
    expect(container.Config.Cmd).not.toContain("tok-e2e");
  });

  it("runs a V1 sandbox (as the SDK does for a GPU) and streams its logs while it runs", async () => {
    const v1 = modalClient(local, { sandboxV2: false });
    const sb = await v1.sandboxes.create(await v1.apps.fromName("ferry", { createIfMissing: true }), v1.images.fromRegistry(IMAGE), {
      name: "e2e-v1",
      gpu: "A10G",
      command: ["python3", "-u", "-c", "import time\nfor i in range(3):\n    print('line', i)\n    time.sleep(0.3)"],
    });
    expect(sb.sandboxId).toMatch(/^sb-[0-9A-Za-z]{22}$/);
    const lines: string[] = [];
    for await (const chunk of sb.stdout) lines.push(chunk);
    expect(lines.join("")).toBe("line 0\nline 1\nline 2\n");
    expect(await sb.wait()).toBe(0);
    expect(local.sandbox(sb.sandboxId)).toMatchObject({ version: 1, gpu: "A10G" });
  });

  it("kills a sandbox that outlives its timeout: wait gives 124", async () => {
    const sb = await modal.sandboxes.create(await app(), modal.images.fromRegistry(IMAGE), { command: ["sleep", "60"], timeoutMs: 2000 });
    const started = Date.now();
    expect(await sb.wait()).toBe(124);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect((await containerState(local.sandbox(sb.sandboxId)!.containerId!)).Running).toBe(false);
  });

  it("terminates a running sandbox: its container stops and wait gives 137", async () => {
    const sb = await modal.sandboxes.create(await app(), modal.images.fromRegistry(IMAGE), { name: "e2e-cancel", command: ["sleep", "300"] });
    const view = await waitUntil(() => local.sandbox(sb.sandboxId)!, (v) => v.containerId !== null);
    expect((await containerState(view.containerId!)).Running).toBe(true);
    await sb.terminate();
    expect(await sb.wait()).toBe(137);
    expect((await containerState(view.containerId!)).Running).toBe(false);
  });

  it("builds an image's layers on the engine once per content and runs sandboxes on the result", async () => {
    const image = () => modal.images.fromRegistry(IMAGE).dockerfileCommands(["RUN echo cached-layer > /layer.txt"]);
    const first = await image().build(await app());
    const second = await image().build(await app());
    expect(second.imageId).toBe(first.imageId);
    expect(local.snapshot().images.find((i) => i.id === first.imageId)).toMatchObject({ status: "built", builds: 1 });
    const sb = await modal.sandboxes.create(await app(), second, { command: ["cat", "/layer.txt"] });
    expect(await sb.wait()).toBe(0);
    expect(await sb.stdout.readText()).toBe("cached-layer\n");
  });

  it("with imageLayers: record, runs a pip layer's image as its base without running pip (no package index here)", async () => {
    const recording = await startModalLocal({ docker, imageLayers: "record" });
    try {
      const client = modalClient(recording);
      const recApp = await client.apps.fromName("ferry", { createIfMissing: true });
      const image = await client.images.fromRegistry(IMAGE).dockerfileCommands(["RUN python3 -m pip install requests==2.32.3"]).build(recApp);
      expect(recording.snapshot().images.find((i) => i.id === image.imageId)).toMatchObject({ status: "built", dockerRef: IMAGE, layersApplied: false, builds: 1 });
      const sb = await client.sandboxes.create(recApp, image, { command: ["python3", "-c", "print('ran')"] });
      expect(await sb.wait()).toBe(0);
      expect(await sb.stdout.readText()).toBe("ran\n");
    } finally {
      await recording.close();
    }
  });

  it("fails an image whose layer fails to build, with the build's error", async () => {
    await expect(modal.images.fromRegistry(IMAGE).dockerfileCommands(["RUN exit 7"]).build(await app())).rejects.toThrow(/Image build for im-\S+ failed/);
  });

  it("refuses an image whose base is not on the engine (images are never pulled)", async () => {
    await expect(modal.images.fromRegistry("ferry-missing:nowhere").build(await app())).rejects.toThrow(/not on the local Docker engine/);
  });
});

async function waitUntil<T>(read: () => T, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
