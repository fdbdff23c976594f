import { readFile } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { FerryError, type ProjectBuild } from "@ferry/core";
import { contentTag, imageTarget, type ImageTarget } from "./reference.js";
import type { RegistryAuth } from "./registry-auth.js";

/** Everything needed to build and push, decided before Docker is touched. */
export interface ImageBuildPlan {
  target: ImageTarget;
  platform: string;
  buildArgs: Record<string, string>;
  source:
    | { kind: "generated"; baseImage: string; requirementsPath: string; requirementsName: string }
    | { kind: "dockerfile"; contextDir: string; dockerfile: string };
  /** Null: push anonymously. */
  auth: RegistryAuth | null;
  /** Where `auth` came from ("build.registry_credentials" or a provider's registry login), for messages. */
  authFrom?: string | null;
}

export interface ImageBuildResult {
  /** The pushed manifest's digest, when the registry returned one. */
  digest: string | null;
}

/**
 * Builds and pushes images: one narrow interface, so `ferry deploy` can be tested with a fake. The real
 * one (Docker, through dockerode) is loaded only when a project has a build section.
 */
export interface ImageBackend {
  buildAndPush(plan: ImageBuildPlan, progress: (line: string) => void): Promise<ImageBuildResult>;
}

export async function loadImageBackend(): Promise<ImageBackend> {
  const { DockerImageBackend } = await import("./docker-image-backend.js");
  return new DockerImageBackend();
}

export interface PlanOptions {
  build: ProjectBuild;
  /** The project file's directory: `build.context` is relative to it. */
  projectDir: string;
  /** `name:` of ferry.yaml; unset, the project directory's name. */
  projectName: string | undefined;
  namespace: string | undefined;
  profileName: string | null;
}

/** Reads what the tag depends on and decides where the image goes. */
export async function planImage(options: PlanOptions): Promise<ImageBuildPlan> {
  const { build } = options;
  const contextDir = resolve(options.projectDir, build.context);
  let source: ImageBuildPlan["source"];
  let tagInputs: Parameters<typeof contentTag>[0];
  if (build.dockerfile) {
    const text = await readOrExplain(resolve(contextDir, build.dockerfile), "build.dockerfile", `${build.dockerfile} was not found in ${contextDir}; fix build.dockerfile (relative to build.context), or remove it to use the generated Dockerfile`);
    source = { kind: "dockerfile", contextDir, dockerfile: build.dockerfile.replace(/\\/g, "/") };
    tagInputs = { baseImage: null, platform: build.platform, buildArgs: build.build_args, dockerfile: text, requirements: null };
  } else {
    const requirementsPath = resolve(contextDir, build.requirements);
    const text = await readOrExplain(requirementsPath, "build.requirements", `${build.requirements} was not found in ${contextDir}; add it, set build.requirements, or set build.dockerfile to build with your own Dockerfile`);
    source = { kind: "generated", baseImage: build.base_image, requirementsPath, requirementsName: build.requirements };
    tagInputs = { baseImage: build.base_image, platform: build.platform, buildArgs: build.build_args, dockerfile: null, requirements: text };
  }
  const target = imageTarget({
    image: build.image,
    namespace: options.namespace,
    profileName: options.profileName,
    projectName: options.projectName ?? basename(options.projectDir),
    tag: contentTag(tagInputs),
  });
  return { target, platform: build.platform, buildArgs: build.build_args, source, auth: null };
}

async function readOrExplain(path: string, field: string, message: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new FerryError("validation_failed", `${field}: ${message}`, { cause: error });
  }
}
