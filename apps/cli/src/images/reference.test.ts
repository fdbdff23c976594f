import type { FerryError } from "@ferry/core";
import { describe, expect, it } from "vitest";
import { contentTag, imageTarget, pushedReference, repositoryComponent, type TagInputs } from "./reference.js";

const INPUTS: TagInputs = { baseImage: "ferry-engine:latest", platform: "linux/amd64", buildArgs: { A: "1", B: "2" }, dockerfile: null, requirements: "six\n" };
const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("contentTag", () => {
  it("is the same for the same inputs, whatever the order of build args, and differs otherwise", () => {
    const tag = contentTag(INPUTS);
    expect(tag).toMatch(/^ferry-[a-f0-9]{12}$/);
    expect(contentTag({ ...INPUTS, buildArgs: { B: "2", A: "1" } })).toBe(tag);
    expect(contentTag({ ...INPUTS, requirements: "six==1.17.0\n" })).not.toBe(tag);
    expect(contentTag({ ...INPUTS, platform: "linux/arm64" })).not.toBe(tag);
    expect(contentTag({ ...INPUTS, baseImage: "ferry-engine:2" })).not.toBe(tag);
  });
});

describe("imageTarget", () => {
  const base = { profileName: "local", projectName: "My Flows", tag: "ferry-0123456789ab" };

  it("takes build.image as given, with the content tag when it names none", () => {
    expect(imageTarget({ ...base, image: "127.0.0.1:5000/ferry-flows/e2e:v1" })).toEqual({
      registry: "127.0.0.1:5000",
      repository: "ferry-flows/e2e",
      tag: "v1",
      name: "127.0.0.1:5000/ferry-flows/e2e",
      reference: "127.0.0.1:5000/ferry-flows/e2e:v1",
    });
    expect(imageTarget({ ...base, image: "acme/etl", namespace: "ignored.example.com/x" }).reference).toBe("acme/etl:ferry-0123456789ab");
  });

  it("names the image in the profile's namespace after the project", () => {
    const target = imageTarget({ ...base, namespace: "123456789012.registry.example.com/ferry-flows/" });
    expect(target.reference).toBe("123456789012.registry.example.com/ferry-flows/my-flows:ferry-0123456789ab");
    expect(target.registry).toBe("123456789012.registry.example.com");
  });

  it("says how to get an image name when there is none", () => {
    const error = (() => {
      try {
        imageTarget(base);
      } catch (e) {
        return e as FerryError;
      }
      throw new Error("no error");
    })();
    expect(error.code).toBe("validation_failed");
    expect(error.message).toMatch(/set 'build\.image: registry\/name:tag'.*profile 'local'.*--provision-infra.*--no-build/);
    expect(() => imageTarget({ ...base, namespace: "Bad Namespace" })).toThrow(/default_image_namespace of profile 'local': 'Bad Namespace\/my-flows' is not an image repository/);
  });
});

describe("names and references", () => {
  it("makes a repository component of any project name", () => {
    expect(repositoryComponent("My Flows!")).toBe("my-flows");
    expect(repositoryComponent("__etl..jobs__")).toBe("etl-jobs");
    expect(repositoryComponent("!!!")).toBe("flows");
  });

  it("references the pushed image by digest when there is one", () => {
    const target = imageTarget({ image: "r.example.com/a/b:v1", profileName: null, projectName: "p", tag: "t" });
    expect(pushedReference(target, DIGEST)).toBe(`r.example.com/a/b@${DIGEST}`);
    expect(pushedReference(target, null)).toBe("r.example.com/a/b:v1");
  });
});
