import { describe, expect, it } from "vitest";
import { imageRegistry } from "./registry-pull.js";

describe("imageRegistry", () => {
  it("reads the registry host of an image reference", () => {
    expect(imageRegistry("ferrypool.azurecr.io/flows/hello:1")).toBe("ferrypool.azurecr.io");
    expect(imageRegistry("127.0.0.1:5000/flows/hello")).toBe("127.0.0.1:5000");
    expect(imageRegistry("localhost/flows/hello")).toBe("localhost");
    expect(imageRegistry("library/python:3")).toBeNull();
    expect(imageRegistry("ferry-engine:latest")).toBeNull();
  });
});
