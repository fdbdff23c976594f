import { createHash } from "node:crypto";
import { FerryError, parseImageReference } from "@ferry/core";

/** Where a build is pushed: `name:tag`, with `name` = `registry/repository`. */
export interface ImageTarget {
  /** `127.0.0.1:5000`, `registry.example.com`; null for Docker Hub. */
  registry: string | null;
  repository: string;
  tag: string;
  /** `registry/repository`, what `docker push` names. */
  name: string;
  /** `registry/repository:tag` */
  reference: string;
}

/** What determines the image, so the same inputs get the same tag (and, built from cache, the same digest). */
export interface TagInputs {
  baseImage: string | null;
  platform: string;
  buildArgs: Record<string, string>;
  /** The Dockerfile's text, or null when it is generated. */
  dockerfile: string | null;
  /** The requirements' text, for the generated Dockerfile. */
  requirements: string | null;
}

// Bump when the generated Dockerfile changes, so old tags are not reused for new content.
const GENERATOR_VERSION = 1;

/** `ferry-` and 12 hex characters of a hash of the build's inputs. */
export function contentTag(inputs: TagInputs): string {
  const args = Object.keys(inputs.buildArgs).sort().map((k) => [k, inputs.buildArgs[k]]);
  const text = JSON.stringify([GENERATOR_VERSION, inputs.baseImage, inputs.platform, args, inputs.dockerfile, inputs.requirements]);
  return `ferry-${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
}

/** A repository name component from a project's name: `My Flows!` → `my-flows`. */
export function repositoryComponent(name: string): string {
  const out = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, "")
    .replace(/[._-]{2,}/g, "-");
  return out.slice(0, 128).replace(/[^a-z0-9]+$/, "") || "flows";
}

export interface TargetOptions {
  /** `build.image` */
  image?: string | undefined;
  /** The profile's `default_image_namespace`, e.g. `registry.example.com/ferry-flows` (provisioning saves it). */
  namespace?: string | undefined;
  /** Where the namespace came from, for the error. */
  profileName: string | null;
  /** The project's name (`name:` in ferry.yaml, else its directory). */
  projectName: string;
  /** The tag when `build.image` names none. */
  tag: string;
}

/**
 * `build.image` as given (with the content tag when it has none), else `<namespace>/<project>:<tag>`.
 * Neither: an error saying how to get one.
 */
export function imageTarget(options: TargetOptions): ImageTarget {
  let text: string;
  if (options.image) text = options.image;
  else if (options.namespace) text = `${options.namespace.replace(/\/+$/, "")}/${repositoryComponent(options.projectName)}`;
  else {
    throw new FerryError(
      "validation_failed",
      `build: no image to push to: set 'build.image: registry/name:tag' in ferry.yaml, or give profile '${options.profileName ?? "NAME"}' a default namespace with ` +
        "'ferry work-pool create NAME --type TYPE --provision-infra' for a push type whose provisioner makes a registry (it saves default_image_namespace), or deploy with --no-build",
    );
  }
  const ref = parseImageReference(text);
  if (!ref || ref.digest) {
    const where = options.image ? "build.image" : `default_image_namespace of profile '${options.profileName}'`;
    throw new FerryError("validation_failed", `${where}: '${text}' is not an image repository such as 'registry.example.com/team/name'`);
  }
  const tag = ref.tag ?? options.tag;
  const name = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  return { registry: ref.registry, repository: ref.repository, tag, name, reference: `${name}:${tag}` };
}

/** What deployments run: by digest when the registry returned one, so a moved tag never changes them. */
export function pushedReference(target: ImageTarget, digest: string | null): string {
  return digest ? `${target.name}@${digest}` : target.reference;
}
