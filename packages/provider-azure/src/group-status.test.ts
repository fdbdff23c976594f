import type { ContainerGroup } from "@azure/arm-containerinstance";
import { describe, expect, it } from "vitest";
import { groupStatus } from "./group-status.js";

type State = { state?: string; exitCode?: number; detailStatus?: string };
type Ev = { type?: string; name?: string; message?: string };

function group(provisioningState: string, current?: State, events: Ev[] = [], groupState?: string): ContainerGroup {
  return {
    osType: "Linux",
    provisioningState,
    containers: [{ name: "ferry", image: "i", resources: { requests: { cpu: 1, memoryInGB: 1 } }, instanceView: { ...(current ? { currentState: current } : {}), events } }],
    ...(groupState ? { instanceView: { state: groupState } } : {}),
  } as ContainerGroup;
}

describe("groupStatus", () => {
  it("is pending while ARM provisions the group, with the state", () => {
    expect(groupStatus(group("Creating"))).toMatchObject({ phase: "pending", message: expect.stringMatching(/provisioning.*Creating/) });
    expect(groupStatus(group("Succeeded", { state: "Waiting", detailStatus: "ContainerCreating" }))).toMatchObject({ phase: "pending", message: expect.stringMatching(/ContainerCreating/) });
  });

  it("is running once the container runs", () => {
    expect(groupStatus(group("Succeeded", { state: "Running" }))).toEqual({ phase: "running" });
  });

  it("is exited with the exit code once the container is Terminated", () => {
    expect(groupStatus(group("Succeeded", { state: "Terminated", exitCode: 0, detailStatus: "Completed" }))).toEqual({ phase: "exited", exitCode: 0 });
    expect(groupStatus(group("Succeeded", { state: "Terminated", exitCode: 3, detailStatus: "Error" }))).toEqual({ phase: "exited", exitCode: 3, message: "Error" });
    expect(groupStatus(group("Succeeded", { state: "Terminated", exitCode: 137, detailStatus: "OOMKilled" }))).toMatchObject({ message: /raise the memory job variable/ });
  });

  it("fails an image pull with Azure's words rather than waiting for a container that will not come", () => {
    const status = groupStatus(
      group("Failed", { state: "Waiting", detailStatus: "ImagePullBackOff" }, [{ type: "Warning", name: "Failed", message: 'Failed to pull image "nope:1": manifest unknown' }]),
    );
    expect(status).toMatchObject({ phase: "failed", message: expect.stringContaining('the image could not be pulled: Failed to pull image "nope:1": manifest unknown') });
    expect(groupStatus(group("Creating", { state: "Waiting", detailStatus: "ErrImagePull" }))).toMatchObject({ phase: "failed", message: /image could not be pulled: ErrImagePull/ });
  });

  it("fails a group ARM could not provision, with the reason", () => {
    expect(groupStatus(group("Failed", undefined, [{ type: "Warning", message: "The subnet is not delegated" }]))).toEqual({
      phase: "failed",
      message: "Azure could not start the container group: The subnet is not delegated",
    });
    expect(groupStatus(group("Failed"))).toMatchObject({ phase: "failed", message: /provisioning state Failed/ });
  });

  it("fails a group stopped before its container ended", () => {
    expect(groupStatus(group("Succeeded", { state: "Waiting" }, [], "Stopped"))).toMatchObject({ phase: "failed", message: /stopped/ });
  });
});
