import { describe, expect, it } from "vitest";
import { DEFAULT_NAMES } from "./names.js";
import {
  descriptionWithHolder,
  descriptionWithoutHolder,
  hasPoolLabel,
  labelsWithHolder,
  labelsWithoutHolder,
  markedPool,
  markedServices,
  poolLabels,
  repositoryHolders,
  serviceAccountDescription,
  serviceAccountHolders,
} from "./ownership.js";
import { jobVariableDefaults, planSteps, type ObservedState } from "./plan.js";

const empty: ObservedState = { project: "p-123456", region: "us-central1", names: DEFAULT_NAMES, enabledServices: [], serviceAccount: null, rolesHeld: [], repository: null };
const full: ObservedState = {
  ...empty,
  enabledServices: ["run.googleapis.com", "artifactregistry.googleapis.com", "iam.googleapis.com"],
  serviceAccount: { email: "ferry-cloud-run@p-123456.iam.gserviceaccount.com", description: serviceAccountDescription("gcr", []) },
  rolesHeld: ["roles/run.developer", "roles/iam.serviceAccountUser", "roles/logging.viewer"],
  repository: { name: "projects/p-123456/locations/us-central1/repositories/ferry-images", labels: poolLabels("gcr") },
};

describe("planSteps", () => {
  it("creates everything in an empty project, in order: APIs, account, roles, key, repository", () => {
    const steps = planSteps(empty, { poolName: "gcr", hasCredentials: false });
    expect(steps.map((s) => [s.id, s.action])).toEqual([
      ["services", "create"],
      ["service-account", "create"],
      ["iam-roles", "create"],
      ["key", "create"],
      ["repository", "create"],
    ]);
    expect(steps[0]!.detail).toBe("enable run.googleapis.com, artifactregistry.googleapis.com, iam.googleapis.com");
    expect(steps[3]!.detail).toBe("stored as credentials 'gcr-gcp'");
  });

  it("finds everything in a provisioned project, and makes no key for a pool with credentials", () => {
    expect(planSteps(full, { poolName: "gcr", hasCredentials: true }).every((s) => s.action === "exists")).toBe(true);
    expect(planSteps(full, { poolName: "gcr", hasCredentials: false }).find((s) => s.id === "key")?.action).toBe("create");
  });

  it("enables only the APIs that are off and grants only the roles missing", () => {
    const steps = planSteps({ ...full, enabledServices: ["iam.googleapis.com"], rolesHeld: ["roles/run.developer"] }, { poolName: "gcr", hasCredentials: true });
    expect(steps.find((s) => s.id === "services")?.detail).toBe("enable run.googleapis.com, artifactregistry.googleapis.com");
    expect(steps.find((s) => s.id === "iam-roles")?.detail).toBe("grant roles/iam.serviceAccountUser, roles/logging.viewer to ferry-cloud-run");
  });

  it("marks what Ferry made for another pool as used by this pool too, and leaves what Ferry did not make", () => {
    const steps = planSteps(full, { poolName: "other", hasCredentials: true });
    expect(steps.find((s) => s.id === "service-account")).toMatchObject({ action: "create", detail: "made by Ferry for pool 'gcr': mark it as used by pool 'other' too" });
    expect(steps.find((s) => s.id === "repository")).toMatchObject({ action: "create", detail: "made by Ferry for pool 'gcr': mark it as used by pool 'other' too" });
    const usersOwn = { ...full, serviceAccount: { email: "ferry-cloud-run@p-123456.iam.gserviceaccount.com", description: "" }, repository: { name: full.repository!.name, labels: {} } };
    expect(planSteps(usersOwn, { poolName: "other", hasCredentials: true }).every((s) => s.action === "exists")).toBe(true);
  });

  it("gives the pool its project and region", () => {
    expect(jobVariableDefaults(full)).toEqual({ project: "p-123456", region: "us-central1" });
  });
});

describe("ownership marks", () => {
  it("labels repositories with the pool, in the label alphabet", () => {
    expect(poolLabels("Prod Pool")).toEqual({ "ferry-pool": "prod-pool", "managed-by": "ferry" });
    expect(hasPoolLabel(poolLabels("gcr"), "gcr")).toBe(true);
    expect(hasPoolLabel({ "ferry-pool": "gcr" }, "other")).toBe(false);
    expect(hasPoolLabel(undefined, "gcr")).toBe(false);
  });

  it("marks a service account's description with its pool and the APIs its provisioning enabled", () => {
    const description = serviceAccountDescription("my pool", ["run.googleapis.com", "iam.googleapis.com"]);
    expect(description.length).toBeLessThanOrEqual(256);
    expect(markedPool(description)).toBe("my pool");
    expect(markedServices(description)).toEqual(["run.googleapis.com", "iam.googleapis.com"]);
    expect(markedServices(serviceAccountDescription("gcr", []))).toEqual([]);
    expect(markedPool("a robot of the team")).toBeNull();
  });
});

describe("sharing marks", () => {
  it("adds and removes a repository's users; the maker's label passes to the next user", () => {
    const shared = labelsWithHolder(labelsWithHolder(poolLabels("a"), "b"), "c");
    expect(repositoryHolders(shared)).toEqual(["a", "b", "c"]);
    expect(labelsWithHolder(shared, "b")).toEqual(shared);
    expect(labelsWithoutHolder(shared, "b")).toEqual({ "ferry-pool": "a", "managed-by": "ferry", "ferry-uses-c": "true" });
    expect(labelsWithoutHolder(shared, "a")).toEqual({ "ferry-pool": "b", "managed-by": "ferry", "ferry-uses-c": "true" });
    expect(repositoryHolders(labelsWithoutHolder(poolLabels("a"), "a"))).toEqual([]);
  });

  it("adds and removes a service account's users; the APIs mark stays", () => {
    const first = serviceAccountDescription("a", ["run.googleapis.com"]);
    const shared = descriptionWithHolder(first, "b pool");
    expect(serviceAccountHolders(shared)).toEqual(["a", "b pool"]);
    expect(serviceAccountHolders(descriptionWithoutHolder(shared, "a"))).toEqual(["b pool"]);
    expect(markedServices(descriptionWithoutHolder(shared, "a"))).toEqual(["run.googleapis.com"]);
    expect(descriptionWithoutHolder(shared, "b pool")).toBe(first);
    expect(() => descriptionWithHolder(first, "x".repeat(300))).toThrow(/no room/);
  });
});
