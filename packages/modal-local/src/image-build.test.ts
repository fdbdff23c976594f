import { describe, expect, it } from "vitest";
import { ImageBuilds, imageContentKey, layerTag, parseLayer, type ImageBuilder } from "./image-build.js";
import { ModalLocalState, type ImageRecord } from "./state.js";

const spec = (commands: string[], baseImages: { dockerTag: string; imageId: string }[] = []) => ({ dockerfileCommands: commands, baseImages, builderVersion: "2025.06", secretIds: [], gpu: "" });

async function settled(image: ImageRecord): Promise<ImageRecord> {
  while (image.status === "building") await image.changed.next(1000);
  return image;
}

class FakeBuilder implements ImageBuilder {
  readonly present = new Set(["ferry-engine:latest"]);
  readonly dockerfiles: string[] = [];
  readonly removed: string[] = [];
  async hasImage(ref: string): Promise<boolean> {
    return this.present.has(ref);
  }
  async build(dockerfile: string, tag: string, onLog: (line: string) => void): Promise<void> {
    this.dockerfiles.push(dockerfile);
    if (dockerfile.includes("exit 1")) throw new Error("the image build failed: exit 1");
    onLog("Step 1/2\n");
    this.present.add(tag);
  }
  async remove(tag: string): Promise<void> {
    this.removed.push(tag);
  }
}

describe("image content and layers", () => {
  it("keys an image by its content, whatever the order of its base images", () => {
    const a = imageContentKey(spec(["FROM base", "RUN x"], [{ dockerTag: "base", imageId: "im-1" }, { dockerTag: "other", imageId: "im-2" }]));
    const b = imageContentKey(spec(["FROM base", "RUN x"], [{ dockerTag: "other", imageId: "im-2" }, { dockerTag: "base", imageId: "im-1" }]));
    expect(a).toBe(b);
    expect(imageContentKey(spec(["FROM base", "RUN y"]))).not.toBe(imageContentKey(spec(["FROM base", "RUN x"])));
  });

  it("splits a layer into its base and commands, and refuses one without FROM", () => {
    expect(parseLayer(["FROM ferry-engine:latest", "RUN pip install x"])).toEqual({ from: "ferry-engine:latest", rest: ["RUN pip install x"] });
    expect(() => parseLayer(["RUN x"])).toThrow(/starts with "FROM <image>"/);
  });
});

describe("ImageBuilds", () => {
  it("uses a registry image as it is, builds a layer on it once, and finds the same content again without a build", async () => {
    const state = new ModalLocalState(["main"]);
    const builder = new FakeBuilder();
    const builds = new ImageBuilds(state, builder);
    const base = await settled(builds.getOrCreate(spec(["FROM ferry-engine:latest"]), false));
    expect(base).toMatchObject({ status: "built", dockerRef: "ferry-engine:latest" });
    const layer = await settled(builds.getOrCreate(spec(["FROM base", "RUN pip install requests"], [{ dockerTag: "base", imageId: base.id }]), false));
    expect(layer).toMatchObject({ status: "built", dockerRef: layerTag(layer.id), builds: 1, logs: ["Step 1/2\n"] });
    expect(builder.dockerfiles).toEqual(["FROM ferry-engine:latest\nRUN pip install requests\n"]);
    const again = builds.getOrCreate(spec(["FROM base", "RUN pip install requests"], [{ dockerTag: "base", imageId: base.id }]), false);
    expect(again).toBe(layer);
    expect(layer.builds).toBe(1);
    await builds.close();
    expect(builder.removed).toEqual([layerTag(layer.id)]);
  });

  it("fails an image whose base is missing or whose layer fails, and builds a failed one again when asked again", async () => {
    const state = new ModalLocalState(["main"]);
    const builder = new FakeBuilder();
    const builds = new ImageBuilds(state, builder);
    const missing = await settled(builds.getOrCreate(spec(["FROM nowhere:1"]), false));
    expect(missing.result?.exception).toContain("not on the local Docker engine");
    const failing = await settled(builds.getOrCreate(spec(["FROM ferry-engine:latest", "RUN exit 1"]), false));
    expect(failing).toMatchObject({ status: "failed", result: { status: 2, exception: "the image build failed: exit 1" } });
    await settled(builds.getOrCreate(spec(["FROM ferry-engine:latest", "RUN exit 1"]), false));
    expect(failing.builds).toBe(2);
  });

  it("with layers: record, records a layer's commands without running them and runs the image as its base", async () => {
    const state = new ModalLocalState(["main"]);
    const builder = new FakeBuilder();
    const builds = new ImageBuilds(state, builder, "record");
    const image = await settled(builds.getOrCreate(spec(["FROM ferry-engine:latest", "RUN pip install requests"]), false));
    expect(image).toMatchObject({ status: "built", dockerRef: "ferry-engine:latest", layersApplied: false, builds: 1 });
    expect(builder.dockerfiles).toEqual([]);
    expect(builds.getOrCreate(spec(["FROM ferry-engine:latest", "RUN pip install requests"]), false)).toBe(image);
    const missing = await settled(builds.getOrCreate(spec(["FROM nowhere:1", "RUN pip install requests"]), false));
    expect(missing.status).toBe("failed");
  });

  it("only records the layers without an engine", async () => {
    const state = new ModalLocalState(["main"]);
    const image = await settled(new ImageBuilds(state, null).getOrCreate(spec(["FROM ferry-engine:latest", "RUN x"]), false));
    expect(image).toMatchObject({ status: "built", dockerRef: null });
  });
});
