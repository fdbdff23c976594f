import { createHash } from "node:crypto";
import { ChangeSignal } from "./change-signal.js";
import { newId } from "./ids.js";
import { GenericStatus } from "./sandbox-result.js";
import type { ImageRecord, ModalLocalState } from "./state.js";

/** Builds an image layer on a container engine: `FROM <base>` plus the layer's commands, tagged `tag`. */
export interface ImageBuilder {
  hasImage(ref: string): Promise<boolean>;
  build(dockerfile: string, tag: string, onLog: (line: string) => void): Promise<void>;
  /** Removes an image this builder made (on close); a builder without it leaves them. */
  remove?(tag: string): Promise<void>;
}

export interface ImageSpec {
  dockerfileCommands: string[];
  baseImages: { dockerTag: string; imageId: string }[];
  builderVersion: string;
  secretIds: string[];
  gpu: string;
}

/** The content an image is cached by: the same commands on the same base make the same image. */
export function imageContentKey(spec: ImageSpec): string {
  const baseImages = [...spec.baseImages].sort((a, b) => a.dockerTag.localeCompare(b.dockerTag));
  return createHash("sha256").update(JSON.stringify({ ...spec, baseImages })).digest("hex");
}

/** A layer's Dockerfile split into its base (`FROM x`) and the commands on top. */
export function parseLayer(commands: string[]): { from: string; rest: string[] } {
  const [first, ...rest] = commands;
  const match = /^\s*FROM\s+(\S+)\s*$/i.exec(first ?? "");
  if (match === null) throw new Error(`an image layer starts with "FROM <image>", got ${JSON.stringify(first ?? "")}`);
  return { from: match[1]!, rest };
}

/** The Docker tag a built layer gets: repository names are lower-case, tags may hold the id as it is. */
export function layerTag(imageId: string): string {
  return `modal-local-image:${imageId}`;
}

/**
 * ImageGetOrCreate's work. An image is cached by content: asking again for one that is built (or being
 * built) returns it without a new build. A layer with commands is built on the engine (`docker build`
 * of `FROM <base>` and the commands); one without is its base. Without an engine the layers are only
 * recorded, and the image is reported built: nothing could run it anyway. With `layers: "record"`
 * (for tests that cannot reach a package index) a layer's commands are recorded, not run, and the
 * image runs as its base; `layersApplied` says so.
 */
export class ImageBuilds {
  constructor(
    private readonly state: ModalLocalState,
    private readonly builder: ImageBuilder | null,
    /** `build`: layers with commands are built by the engine; `record`: recorded only, the image runs as its base. */
    private readonly layers: "build" | "record" = "build",
  ) {}

  getOrCreate(spec: ImageSpec, forceBuild: boolean): ImageRecord {
    const contentKey = imageContentKey(spec);
    const existing = this.state.findImageByContent(contentKey);
    if (existing !== undefined && !forceBuild && existing.status !== "failed") return existing;
    const image: ImageRecord = existing ?? {
      id: newId("im"),
      contentKey,
      dockerfileCommands: spec.dockerfileCommands,
      baseImages: spec.baseImages,
      dockerRef: null,
      status: "building",
      result: null,
      logs: [],
      builds: 0,
      layersApplied: true,
      changed: new ChangeSignal(),
    };
    image.status = "building";
    image.result = null;
    this.state.images.set(image.id, image);
    void this.build(image);
    return image;
  }

  /** Removes the layers built on the engine (their tags are this server's own). */
  async close(): Promise<void> {
    const builder = this.builder;
    if (builder === null) return;
    const built = [...this.state.images.values()].filter((i) => i.dockerRef === layerTag(i.id));
    await Promise.all(built.map((i) => builder.remove?.(layerTag(i.id)).catch(() => undefined)));
  }

  private async build(image: ImageRecord): Promise<void> {
    image.builds += 1;
    image.layersApplied = true;
    const log = (line: string): void => {
      image.logs.push(line);
      image.changed.notify();
    };
    try {
      const { from, rest } = parseLayer(image.dockerfileCommands);
      const base = image.baseImages.find((b) => b.dockerTag === from);
      let baseRef: string | null = from;
      if (base !== undefined) {
        const parent = this.state.images.get(base.imageId);
        if (parent === undefined || parent.status !== "built") throw new Error(`base image ${base.imageId} is not built`);
        baseRef = parent.dockerRef;
      }
      if (this.builder === null || baseRef === null) {
        image.layersApplied = false;
        log(`Recorded ${image.dockerfileCommands.length} Dockerfile command(s); no container engine, nothing built.\n`);
        image.dockerRef = null;
      } else if (rest.length === 0) {
        if (!(await this.builder.hasImage(baseRef))) throw new Error(`Image ${baseRef} is not on the local Docker engine (modal-local never pulls images: build or import it first).`);
        image.dockerRef = baseRef;
      } else if (this.layers === "record") {
        if (!(await this.builder.hasImage(baseRef))) throw new Error(`Image ${baseRef} is not on the local Docker engine (modal-local never pulls images: build or import it first).`);
        log(`Recorded ${rest.length} Dockerfile command(s) without running them (layers: "record"); sandboxes run ${baseRef}.\n`);
        image.dockerRef = baseRef;
        image.layersApplied = false;
      } else {
        const tag = layerTag(image.id);
        await this.builder.build(`FROM ${baseRef}\n${rest.join("\n")}\n`, tag, log);
        image.dockerRef = tag;
      }
      image.status = "built";
      image.result = { status: GenericStatus.SUCCESS, exitcode: 0, exception: "" };
    } catch (error) {
      image.status = "failed";
      image.result = { status: GenericStatus.FAILURE, exitcode: 1, exception: (error as Error).message };
    }
    image.changed.notify();
  }
}
