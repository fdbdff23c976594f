import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENGINE_IMAGE, FerryClient, type Deployment, type FlowRun } from "@ferry/core";
import { removeFirewallRules, runnerFirewallRules } from "@ferry/managed-runner";
import { parseServerConfig, startServer, type RunningServer } from "../src/index.js";
import { allOf, docker as dockerService, root } from "../../../test-support/services.js";
import { makeFlowRepo } from "./support/flow-repo.js";

/**
 * Managed runs are other people's code. Two workspaces on one server, runs in gVisor on Ferry's own
 * network with the host firewall on: each workspace's dependency cache is its own, the containers are
 * locked down, and a run reaches the API and nothing else of the host, no other run, and no metadata
 * service. The metadata service is simulated: 169.254.169.254 answers in a network namespace behind a
 * veth pair, reached through the host's forwarding as on a cloud VM; a container on Docker's default
 * bridge shows it (and the host port the test opens) answers, so "does not answer" from a run means
 * the firewall dropped it.
 */
const IMAGE = DEFAULT_ENGINE_IMAGE;
const docker = new Docker();
// A network of its own: the firewall rules the server adds hold for the whole network, and go with it.
const NETWORK = `ferry-test-runs-${randomBytes(3).toString("hex")}`;
const NET_TIMEOUT_S = 3;

const FLOWS: Record<string, string> = {
  // Uses the pip package (so both workspaces ask for the same cache), plants a file in its cache, lists
  // what the cache holds, says what its sandbox looks like, and optionally listens and waits.
  "flows/tenant.py": `import os, socket, subprocess, threading, time
import six

def main(marker: str, listen: int = 0, wait: int = 0):
    cache = os.environ.get("FERRY_CACHE_DIR", "/ferry/cache")
    open(os.path.join(cache, marker), "w").close()
    report = {"cache": sorted(os.listdir(cache)), "uid": os.getuid(), "kernel": open("/proc/version").read()}
    try:
        report["dmesg"] = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=10).stdout.splitlines()[:1]
    except Exception as e:
        report["dmesg"] = [str(e)]
    try:
        open("/etc/planted", "w").close()
        report["root_fs"] = "writable"
    except OSError as e:
        report["root_fs"] = e.strerror
    print("report", report, flush=True)
    if listen:
        server = socket.create_server(("0.0.0.0", listen))
        def serve():
            while True:
                conn, _ = server.accept()
                conn.sendall(b"hello from another tenant\\n")
                conn.close()
        threading.Thread(target=serve, daemon=True).start()
        print("listening", listen, flush=True)
    time.sleep(wait)
    return report
`,
  "flows/reach.py": `import socket

def main(targets: dict):
    seen = {}
    for name, (host, port) in targets.items():
        s = socket.socket()
        s.settimeout(${NET_TIMEOUT_S})
        try:
            s.connect((host, port))
            seen[name] = "open"
        except socket.timeout:
            seen[name] = "timeout"
        except ConnectionRefusedError:
            seen[name] = "refused"
        except OSError as e:
            seen[name] = e.strerror or str(e)
        finally:
            s.close()
    print("reach", seen, flush=True)
    return seen
`,
};

/** A fake cloud metadata service at 169.254.169.254:80, in a network namespace the host routes to. */
class FakeMetadataService {
  private readonly id = randomBytes(3).toString("hex");
  private readonly ns = `ferrymeta-${this.id}`;
  private readonly hostSide = `fm${this.id}h`;
  private readonly nsSide = `fm${this.id}n`;
  private routed = false;
  private server: ChildProcess | null = null;

  start(): void {
    const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });
    ip("netns", "add", this.ns);
    ip("link", "add", this.hostSide, "type", "veth", "peer", "name", this.nsSide);
    ip("link", "set", this.nsSide, "netns", this.ns);
    ip("addr", "add", "10.254.254.1/30", "dev", this.hostSide);
    ip("link", "set", this.hostSide, "up");
    const inNs = (...args: string[]) => ip("netns", "exec", this.ns, "ip", ...args);
    inNs("addr", "add", "10.254.254.2/30", "dev", this.nsSide);
    inNs("addr", "add", "169.254.169.254/32", "dev", this.nsSide);
    inNs("link", "set", this.nsSide, "up");
    inNs("link", "set", "lo", "up");
    inNs("route", "add", "default", "via", "10.254.254.1");
    ip("route", "add", "169.254.169.254/32", "via", "10.254.254.2");
    this.routed = true;
    this.server = spawn("ip", ["netns", "exec", this.ns, "python3", "-m", "http.server", "80", "--bind", "169.254.169.254"], { stdio: "ignore" });
  }

  stop(): void {
    this.server?.kill("SIGKILL");
    const quiet = (...args: string[]) => {
      try {
        execFileSync("ip", args, { stdio: "pipe" });
      } catch {
        // already gone
      }
    };
    if (this.routed) quiet("route", "del", "169.254.169.254/32", "via", "10.254.254.2");
    quiet("link", "del", this.hostSide);
    quiet("netns", "del", this.ns);
  }
}

/** Connects from a throwaway container on Docker's default bridge (runc, no Ferry rules): the control. */
async function reachFromDefaultBridge(host: string, port: number): Promise<string> {
  const program = `import socket
s = socket.socket(); s.settimeout(${NET_TIMEOUT_S})
try:
    s.connect((${JSON.stringify(host)}, ${port})); print("open")
except socket.timeout:
    print("timeout")
except OSError as e:
    print(e.strerror)`;
  const container = await docker.createContainer({
    Image: IMAGE,
    Entrypoint: ["python3", "-c", program],
    Cmd: [],
    // A terminal: the logs come back as plain text, not in Docker's multiplexed frames.
    Tty: true,
    HostConfig: { NetworkMode: "bridge", ExtraHosts: ["host.docker.internal:host-gateway"] },
  });
  try {
    await container.start();
    await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true })) as Buffer;
    return logs.toString("utf8").trim().split(/\s+/).at(-1) ?? "";
  } finally {
    await container.remove({ force: true });
  }
}

describe(
  "managed runs are isolated: caches per workspace, locked-down containers in gVisor, a network that reaches only the API and the internet",
  allOf(await dockerService({ images: [IMAGE], runtimes: ["runsc"] }), root("the host firewall rules (iptables) and the fake metadata service (ip netns)")),
  () => {
    let home: string;
    let repo: string;
    let server: RunningServer;
    let port: number;
    let a: FerryClient;
    let b: FerryClient;
    let workspaceA: string;
    let workspaceB: string;
    let hostService: Server;
    let hostServicePort: number;
    const metadata = new FakeMetadataService();

    const env = () => {
      const mounts = [`${repo}:${repo}`];
      for (const dir of ["/opt/pypi", "/opt/pypi-more", "/opt/wheels"]) if (existsSync(dir)) mounts.push(`${dir}:${dir}`);
      return {
        FERRY_RUNNER: "docker",
        FERRY_RUNNER_NETWORK: "isolated",
        FERRY_RUNNER_NETWORK_NAME: NETWORK,
        FERRY_RUNNER_RUNTIME: "runsc",
        FERRY_RUNNER_FIREWALL: "iptables",
        FERRY_RUNNER_MOUNTS: mounts.join(","),
        FERRY_RUNNER_ENV: JSON.stringify({
          PIP_INDEX_URL: "file:///opt/pypi/simple",
          PIP_EXTRA_INDEX_URL: "file:///opt/pypi-more/simple",
          PIP_FIND_LINKS: "/opt/wheels",
          PIP_DISABLE_PIP_VERSION_CHECK: "1",
        }),
      };
    };

    const deploy = async (client: FerryClient, name: string, entrypoint: string, jobVariables: Record<string, unknown> = {}): Promise<Deployment> =>
      (await client.api.applyDeployment({ body: { flow_name: "isolation", name, work_pool: "managed", source: { git_url: `file://${repo}`, branch: "main" }, entrypoint, job_variables: jobVariables } })).deployment;
    const runOf = async (client: FerryClient, d: Deployment, parameters: Record<string, unknown>) => (await client.api.createFlowRun({ params: { id: d.id }, body: { parameters } })).flow_run;
    const containerOf = (run: FlowRun) => run.infrastructure_id?.replace(/^docker:/, "") ?? "";
    const running = (client: FerryClient, id: string) =>
      expect.poll(async () => (await client.api.getFlowRun({ params: { id } })).state.type, { timeout: 120_000, interval: 250 }).toBe("RUNNING");

    beforeAll(async () => {
      home = mkdtempSync(join(tmpdir(), "ferry-isolation-"));
      repo = makeFlowRepo("ferry-isolation-repo-", FLOWS);
      hostService = createServer((socket) => {
        socket.on("error", () => undefined); // the probes hang up at once
        socket.end("a host service that runs must not reach\n");
      });
      await new Promise<void>((resolve) => hostService.listen(0, "0.0.0.0", resolve));
      hostServicePort = (hostService.address() as { port: number }).port;
      metadata.start();
      server = await startServer(parseServerConfig(env(), { home, port: 0, databaseUrl: null, logLevel: "warn", providers: [] }), { logStream: process.stderr });
      port = Number(new URL(server.url).port);
      workspaceA = server.bootstrap!.workspaceId;
      a = new FerryClient({ apiUrl: server.url, apiKey: server.bootstrap!.apiKey });
      const admin = new FerryClient({ apiUrl: server.url, adminToken: server.adminToken });
      const created = await admin.api.adminCreateWorkspace({ body: { name: "tenant-b" } });
      workspaceB = created.workspace.id;
      b = new FerryClient({ apiUrl: server.url, apiKey: created.api_key.key });
      await a.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
      await b.api.createWorkPool({ body: { name: "managed", type: "ferry:managed" } });
    }, 120_000);

    afterAll(async () => {
      for (const c of await docker.listContainers({ all: true, filters: { label: [`ferry.workspace_id=${workspaceA}`, "ferry.managed=true"] } })) {
        await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      }
      for (const c of await docker.listContainers({ all: true, filters: { label: [`ferry.workspace_id=${workspaceB}`, "ferry.managed=true"] } })) {
        await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
      }
      await server?.close();
      const network = await docker.getNetwork(NETWORK).inspect().catch(() => null);
      if (network && port) await removeFirewallRules(runnerFirewallRules(`br-${(network as { Id: string }).Id.slice(0, 12)}`, [port]));
      await docker.getNetwork(NETWORK).remove().catch(() => undefined);
      for (const ws of [workspaceA, workspaceB]) {
        const { Volumes } = await docker.listVolumes({ filters: { label: [`ferry.workspace_id=${ws}`] } });
        for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove().catch(() => undefined);
      }
      metadata.stop();
      hostService?.close();
      rmSync(home, { recursive: true, force: true });
      rmSync(repo, { recursive: true, force: true });
    });

    it("keeps each workspace's cache its own, runs locked down in gVisor, and lets a run reach the API only", async () => {
      expect(server.runnerDescription).toMatch(/runtime runsc/);

      // Workspace A plants a file in its cache, with the packages B asks for too.
      const inA = await deploy(a, "tenant-a", "flows/tenant.py:main", { pip_packages: ["six"] });
      const planted = await runOf(a, inA, { marker: "planted-by-a", wait: 4 });
      await running(a, planted.id);
      const info = await docker.getContainer(containerOf(await a.api.getFlowRun({ params: { id: planted.id } }))).inspect();
      expect(info.Config.User).toBe("10001:10001");
      expect(info.HostConfig).toMatchObject({ Runtime: "runsc", CapDrop: ["ALL"], ReadonlyRootfs: true, NetworkMode: NETWORK });
      expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges:true");
      expect(Object.keys(info.HostConfig.Tmpfs ?? {}).sort()).toEqual(["/home/ferry", "/tmp"]);
      const volumeA = info.Mounts.find((m) => m.Destination === "/ferry/cache")?.Name;
      expect(volumeA).toBe(`ferry-cache-ws-${workspaceA}-${info.Config.Labels["ferry.cache_key"]}`);
      const doneA = await a.waitForRun(planted.id);
      expect(doneA.state.type, doneA.state.message ?? "").toBe("COMPLETED");
      expect(doneA.result).toMatchObject({ uid: 10001, root_fs: expect.stringMatching(/Read-only file system|Permission denied/), cache: expect.arrayContaining(["planted-by-a"]) });
      expect((doneA.result as { dmesg: string[] }).dmesg.join(" ")).toMatch(/gVisor/);

      // Workspace B, same packages: another volume, which holds nothing of A's. It stays up, listening.
      const inB = await deploy(b, "tenant-b", "flows/tenant.py:main", { pip_packages: ["six"] });
      const listener = await runOf(b, inB, { marker: "from-b", listen: 8000, wait: 120 });
      await running(b, listener.id);
      const infoB = await docker.getContainer(containerOf(await b.api.getFlowRun({ params: { id: listener.id } }))).inspect();
      const volumeB = infoB.Mounts.find((m) => m.Destination === "/ferry/cache")?.Name;
      expect(volumeB).toBe(`ferry-cache-ws-${workspaceB}-${infoB.Config.Labels["ferry.cache_key"]}`);
      expect(volumeB).not.toBe(volumeA);
      expect(infoB.Mounts.map((m) => m.Name)).not.toContain(volumeA);
      await expect.poll(async () => (await b.api.listFlowRunLogs({ params: { id: listener.id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n"), { timeout: 60_000 }).toMatch(/listening 8000/);
      const logsB = (await b.api.listFlowRunLogs({ params: { id: listener.id }, query: { limit: 1000 } })).items.map((l) => l.message).join("\n");
      expect(logsB).toMatch(/'cache': \[[^\]]*'from-b'/);
      expect(logsB).not.toContain("planted-by-a");
      const otherRun = infoB.NetworkSettings.Networks[NETWORK]?.IPAddress;
      expect(otherRun).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

      // The controls: from Docker's default bridge, the host service and the metadata service answer.
      expect(await reachFromDefaultBridge("host.docker.internal", hostServicePort)).toBe("open");
      expect(await reachFromDefaultBridge("169.254.169.254", 80)).toBe("open");

      // From a run of A: the API answers; the host's other port, B's run and the metadata service do not.
      const reach = await deploy(a, "reach", "flows/reach.py:main");
      const probe = await a.waitForRun((await runOf(a, reach, {
        targets: { api: ["host.docker.internal", port], host_service: ["host.docker.internal", hostServicePort], other_run: [otherRun, 8000], metadata: ["169.254.169.254", 80] },
      })).id);
      expect(probe.state.type, probe.state.message ?? "").toBe("COMPLETED");
      expect(probe.result).toEqual({ api: "open", host_service: "timeout", other_run: "timeout", metadata: "timeout" });

      await b.api.cancelFlowRun({ params: { id: listener.id }, body: {} });
      expect((await b.waitForRun(listener.id)).state.type).toBe("CANCELLED");
    }, 300_000);
  },
);
