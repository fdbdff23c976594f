import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AlreadyExistsError, NotFoundError, type ModalClient, type Sandbox } from "modal";
import { startModalLocal, type ModalLocal } from "../src/index.js";
import { modalClient } from "./helpers.js";

let local: ModalLocal;

beforeAll(async () => {
  local = await startModalLocal({ docker: null });
});
afterAll(async () => {
  await local.close();
});

async function newSandbox(modal: ModalClient, name: string, extra: Parameters<ModalClient["sandboxes"]["create"]>[2] = {}): Promise<Sandbox> {
  const app = await modal.apps.fromName("ferry", { createIfMissing: true });
  const image = modal.images.fromRegistry("ferry-engine:latest");
  return modal.sandboxes.create(app, image, { name, command: ["ferry-engine", "run"], timeoutMs: 3_600_000, ...extra });
}

for (const version of [2, 1] as const) {
  describe(`sandboxes through the SDK's V${version} RPCs (in memory)`, () => {
    const client = (): ModalClient => modalClient(local, { sandboxV2: version === 2 });
    const prefix = `v${version}`;

    it("creates a named, tagged sandbox with its secrets as variables, and finds it by name and by tags", async () => {
      const modal = client();
      const secret = await modal.secrets.fromObject({ FERRY_RUN_TOKEN: "tok-secret-value" });
      const sb = await newSandbox(modal, `${prefix}-run-1`, { secrets: [secret], env: { FERRY_API_URL: "http://127.0.0.1:4200" }, tags: { "ferry-run": `${prefix}-1` }, cpu: 2, memoryMiB: 4096 });
      if (version === 1) expect(sb.sandboxId).toMatch(/^sb-[0-9A-Za-z]{22}$/);
      else expect(sb.sandboxId).toMatch(/^sb2-/);
      const view = local.sandbox(sb.sandboxId)!;
      expect(view).toMatchObject({ version, name: `${prefix}-run-1`, appName: "ferry", tags: { "ferry-run": `${prefix}-1` }, command: ["ferry-engine", "run"], timeoutSecs: 3600, milliCpu: 2000, memoryMib: 4096, status: "running" });
      expect(view.env).toEqual({ FERRY_RUN_TOKEN: "tok-secret-value", FERRY_API_URL: "http://127.0.0.1:4200" });
      expect(await sb.poll()).toBeNull();

      const byName = await modal.sandboxes.fromName("ferry", `${prefix}-run-1`);
      expect(byName.sandboxId).toBe(sb.sandboxId);
      const app = await modal.apps.fromName("ferry");
      const listed: string[] = [];
      for await (const found of modal.sandboxes.list({ appId: app.appId, tags: { "ferry-run": `${prefix}-1` } })) listed.push(found.sandboxId);
      expect(listed).toEqual([sb.sandboxId]);
      expect(JSON.stringify(local.calls())).not.toContain("tok-secret-value");
      await sb.terminate();
    });

    it("refuses a second running sandbox of the same name in the app (AlreadyExists)", async () => {
      const modal = client();
      const first = await newSandbox(modal, `${prefix}-dup`);
      await expect(newSandbox(modal, `${prefix}-dup`)).rejects.toBeInstanceOf(AlreadyExistsError);
      expect(local.sandboxes().filter((s) => s.name === `${prefix}-dup`)).toHaveLength(1);
      await first.terminate();
      expect(await first.wait()).toBe(137);
      const again = await newSandbox(modal, `${prefix}-dup`);
      expect(again.sandboxId).not.toBe(first.sandboxId);
      await again.terminate();
    });

    it("waits for the exit code and reads stdout and stderr", async () => {
      local.clearCalls();
      const modal = client();
      const sb = await newSandbox(modal, `${prefix}-exit`);
      const waiting = sb.wait();
      local.printToSandbox(sb.sandboxId, "stdout", "starting\n");
      setTimeout(() => local.completeSandbox(sb.sandboxId, { exitCode: 3, stdout: "done\n", stderr: "Traceback: boom\n" }), 200);
      expect(await waiting).toBe(3);
      expect(await sb.stdout.readText()).toBe("starting\ndone\n");
      expect(await sb.stderr.readText()).toBe("Traceback: boom\n");
      // V2 output comes through the task command router; V1 through SandboxGetLogs.
      const reads = local.calls().filter((c) => c.rpc === "SandboxStdioReadV2" || c.rpc === "SandboxGetLogs");
      expect(new Set(reads.map((c) => c.rpc))).toEqual(new Set([version === 2 ? "SandboxStdioReadV2" : "SandboxGetLogs"]));
      expect(await sb.poll()).toBe(3);
      expect(local.sandbox(sb.sandboxId)).toMatchObject({ status: "finished", exitCode: 3, result: { status: 2, exitcode: 3 } });

      // Another client (a restarted server) re-attaches by id and reads the same output.
      const again = await client().sandboxes.fromId(sb.sandboxId);
      expect(await again.poll()).toBe(3);
      expect(await again.stdout.readText()).toBe("starting\ndone\n");
    });

    it("gives 124 when the sandbox outlives its timeout", async () => {
      const modal = client();
      const sb = await newSandbox(modal, `${prefix}-timeout`, { timeoutMs: 1000 });
      expect(await sb.wait()).toBe(124);
      expect(local.sandbox(sb.sandboxId)?.result?.exception).toContain("timed out after 1 seconds");
    });

    it("terminates: wait gives 137, and the name no longer finds it", async () => {
      const modal = client();
      const sb = await newSandbox(modal, `${prefix}-cancel`);
      await sb.terminate();
      expect(await sb.wait()).toBe(137);
      await expect(modal.sandboxes.fromName("ferry", `${prefix}-cancel`)).rejects.toBeInstanceOf(NotFoundError);
      expect(local.sandbox(sb.sandboxId)).toMatchObject({ terminateRequested: true, status: "finished" });
    });
  });
}

describe("faults on sandbox creation", () => {
  it("a quota error reaches the caller with Modal's status and message, and no sandbox is made", async () => {
    const modal = modalClient(local);
    local.injectFault({ rpc: "SandboxCreateV2", code: "RESOURCE_EXHAUSTED", message: "Sandbox limit reached for this workspace" });
    await expect(newSandbox(modal, "quota")).rejects.toMatchObject({ code: 8, details: "Sandbox limit reached for this workspace" });
    expect(local.sandboxes().filter((s) => s.name === "quota")).toHaveLength(0);
  });

  it("a reply lost after the create (UNAVAILABLE after the effect) leaves one sandbox: the SDK's retry finds the name taken", async () => {
    const modal = modalClient(local);
    local.injectFault({ rpc: "SandboxCreateV2", code: "UNAVAILABLE", after: true });
    await expect(newSandbox(modal, "lost-reply")).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(local.sandboxes().filter((s) => s.name === "lost-reply")).toHaveLength(1);
    const found = await modal.sandboxes.fromName("ferry", "lost-reply");
    expect(found.sandboxId).toBe(local.sandbox("lost-reply")?.id);
    await found.terminate();
  });
});

describe("a reply held back (a client that dies mid-call)", () => {
  it("the sandbox exists before its creator hears of it, and another client finds it by name", async () => {
    const creator = modalClient(local);
    const held = local.holdNext("SandboxCreateV2");
    const creating = newSandbox(creator, "held-reply");
    await held.reached;
    const made = local.sandbox("held-reply")!;
    expect(made.status).toBe("running");
    const other = modalClient(local);
    expect((await other.sandboxes.fromName("ferry", "held-reply")).sandboxId).toBe(made.id);
    await expect(newSandbox(other, "held-reply")).rejects.toBeInstanceOf(AlreadyExistsError);
    held.release();
    expect((await creating).sandboxId).toBe(made.id);
    expect(local.sandboxes().filter((s) => s.name === "held-reply")).toHaveLength(1);
  });
});

describe("images", () => {
  it("builds an image with layers once per content: the second identical image is the same, not built again", async () => {
    const modal = modalClient(local);
    const app = await modal.apps.fromName("ferry", { createIfMissing: true });
    const first = await modal.images.fromRegistry("ferry-engine:latest").dockerfileCommands(["RUN pip install requests==2.32.3"]).build(app);
    const second = await modal.images.fromRegistry("ferry-engine:latest").dockerfileCommands(["RUN pip install requests==2.32.3"]).build(app);
    expect(second.imageId).toBe(first.imageId);
    const image = local.snapshot().images.find((i) => i.id === first.imageId)!;
    expect(image).toMatchObject({ dockerfileCommands: ["FROM base", "RUN pip install requests==2.32.3"], status: "built", builds: 1 });
    expect(image.baseImages).toHaveLength(1);
  });
});
