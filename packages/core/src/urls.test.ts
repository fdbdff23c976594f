import { describe, expect, it } from "vitest";
import { flowRunUiUrl, isLoopbackUrl } from "./urls.js";

describe("isLoopbackUrl", () => {
  it.each([
    ["http://127.0.0.1:4200", true],
    ["http://127.9.8.7", true],
    ["http://localhost:4200/api", true],
    ["http://api.localhost", true],
    ["http://[::1]:4200", true],
    ["http://0.0.0.0:4200", true],
    ["https://ferry.example.com", false],
    ["http://10.0.0.5:4200", false],
    ["http://128.0.0.1", false],
    ["not a url", false],
  ])("%s: %s", (url, loopback) => {
    expect(isLoopbackUrl(url)).toBe(loopback);
  });
});

describe("flowRunUiUrl", () => {
  it("links to the run's page in the web UI, whatever trailing slashes the API URL has", () => {
    expect(flowRunUiUrl("http://127.0.0.1:4200", "0195a-b")).toBe("http://127.0.0.1:4200/runs/0195a-b");
    expect(flowRunUiUrl("https://ferry.example.com/", "abc")).toBe("https://ferry.example.com/runs/abc");
  });

  it("keeps an id one path segment", () => {
    expect(flowRunUiUrl("http://h", "a/../b")).toBe("http://h/runs/a%2F..%2Fb");
  });
});
