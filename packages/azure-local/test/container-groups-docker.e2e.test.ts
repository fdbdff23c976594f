import type { ContainerGroup } from "@azure/arm-containerinstance";
import { AZURE_LOCAL_LABELS, startAzureLocal, type AzureLocal } from "@ferry/azure-local";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker as dockerService } from "../../../test-support/services.js";
import { armClients, eventually, POLL, rejection } from "./helpers.js";

const IMAGE = process.env.FERRY_TEST_IMAGE ?? "ferry-base:bookworm";
const docker = new Dockerode();
const needsDocker = await dockerService({ images: [IMAGE] });
const RG = "ferry-aci-e2e-rg";

function group(command: string[], env: { name: string; value?: string; secureValue?: string }[] = [], image = IMAGE): ContainerGroup {
  return {
    location: "westeurope",
    osType: "Linux",
    restartPolicy: "Never",
    containers: [{ name: "flow", image, command, resources: { requests: { cpu: 1, memoryInGB: 0.5 } }, environmentVariables: env }],
  };
}

describe("container groups as Docker containers", needsDocker, () => {
  let local: AzureLocal;
  let clients: ReturnType<typeof armClients>;

  beforeAll(async () => {
    local = await startAzureLocal({ docker, containerEnvironment: { FERRY_FROM_SERVER: "yes" }, stopGraceSeconds: 2 });
    clients = armClients(local);
    await clients.resources.resourceGroups.createOrUpdate(RG, { location: "westeurope" });
  });
  afterAll(() => local?.close());

  const terminated = (name: string): Promise<ContainerGroup> =>
    eventually(() => clients.aci.containerGroups.get(RG, name), (g) => g.containers[0]!.instanceView?.currentState?.state === "Terminated", 90_000);
  const labelled = async (name: string): Promise<Dockerode.ContainerInfo[]> =>
    (await docker.listContainers({ all: true, filters: { label: [`${AZURE_LOCAL_LABELS.key}`] } })).filter((c) => c.Labels[AZURE_LOCAL_LABELS.key]?.includes(`/containergroups/${name}/`));

  it("runs a group to Terminated with exit code 0, its environment (secure values too) and its logs", async () => {
    const script = "import os; print(os.environ['PLAIN'], os.environ['TOKEN'], os.environ['FERRY_FROM_SERVER'])";
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "e2e-hello", group(["python3", "-c", script], [{ name: "PLAIN", value: "p" }, { name: "TOKEN", secureValue: "t0ken" }]), POLL);
    const done = await terminated("e2e-hello");
    expect(done.containers[0]!.instanceView?.currentState).toMatchObject({ state: "Terminated", exitCode: 0, detailStatus: "Completed" });
    expect(done.instanceView?.state).toBe("Succeeded");
    expect(JSON.stringify(done)).not.toContain("t0ken");
    expect((await clients.aci.containers.listLogs(RG, "e2e-hello", "flow")).content).toBe("p t0ken yes\n");
    expect(await labelled("e2e-hello")).toHaveLength(1);
    await clients.aci.containerGroups.beginDeleteAndWait(RG, "e2e-hello", POLL);
    expect(await labelled("e2e-hello")).toHaveLength(0);
  });

  it("reports a non-zero exit code with detail status Error", async () => {
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "e2e-exit3", group(["python3", "-c", "import sys; print('bye'); sys.exit(3)"]), POLL);
    const done = await terminated("e2e-exit3");
    expect(done.containers[0]!.instanceView?.currentState).toMatchObject({ state: "Terminated", exitCode: 3, detailStatus: "Error" });
    expect(done.instanceView?.state).toBe("Failed");
  });

  it("gives containers the host's network: a container reaches the server on 127.0.0.1", async () => {
    const script = `import ssl, urllib.request; print(urllib.request.urlopen('${local.url}/__azure-local/health', context=ssl._create_unverified_context()).status)`;
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "e2e-network", group(["python3", "-c", script]), POLL);
    const done = await terminated("e2e-network");
    expect(done.containers[0]!.instanceView?.currentState?.exitCode).toBe(0);
    expect((await clients.aci.containers.listLogs(RG, "e2e-network", "flow")).content).toBe("200\n");
  });

  it("stops a running group: the container is killed, the group is Stopped, its logs stay until the delete", async () => {
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "e2e-stop", group(["python3", "-u", "-c", "import time; print('started'); time.sleep(300)"]), POLL);
    await eventually(() => clients.aci.containers.listLogs(RG, "e2e-stop", "flow"), (l) => l.content === "started\n", 30_000);
    await clients.aci.containerGroups.stop(RG, "e2e-stop");
    const stopped = await clients.aci.containerGroups.get(RG, "e2e-stop");
    expect(stopped.instanceView?.state).toBe("Stopped");
    expect(stopped.containers[0]!.instanceView?.currentState).toMatchObject({ state: "Terminated", detailStatus: "Killing" });
    expect((await clients.aci.containers.listLogs(RG, "e2e-stop", "flow")).content).toBe("started\n");
    const [info] = await labelled("e2e-stop");
    expect(info?.State).toBe("exited");
    await clients.aci.containerGroups.beginDeleteAndWait(RG, "e2e-stop", POLL);
    expect(await rejection(clients.aci.containerGroups.get(RG, "e2e-stop"))).toMatchObject({ statusCode: 404 });
  });

  it("deletes a running group: its container is stopped and removed", async () => {
    await clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "e2e-delete", group(["sleep", "300"]), POLL);
    expect(await labelled("e2e-delete")).toHaveLength(1);
    await clients.aci.containerGroups.beginDeleteAndWait(RG, "e2e-delete", POLL);
    expect(await labelled("e2e-delete")).toHaveLength(0);
  });

  it("fails provisioning for an image that is not on the Docker host, as ACI does", async () => {
    const failure = await rejection(clients.aci.containerGroups.beginCreateOrUpdateAndWait(RG, "e2e-noimage", group(["true"], [], "registry.invalid/ferry/none:1"), POLL));
    expect(failure.message).toContain("InaccessibleImage");
    const failed = await clients.aci.containerGroups.get(RG, "e2e-noimage");
    expect(failed.containers[0]!.instanceView?.events?.find((e) => e.name === "Failed")?.message).toMatch(/^Failed to pull image "registry.invalid\/ferry\/none:1"/);
    expect(await labelled("e2e-noimage")).toHaveLength(0);
  });
});
