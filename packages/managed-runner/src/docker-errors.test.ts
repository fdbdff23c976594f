import { FerryError } from "@ferry/core";
import Dockerode from "dockerode";
import { describe, expect, it } from "vitest";
import { classifyDockerError } from "./docker-errors.js";
import { DockerRunnerBackend } from "./docker-runner-backend.js";

const context = { action: "start the container for run r1", host: "unix:///var/run/docker.sock" };

/** What docker-modem rejects with for an HTTP answer. */
function httpError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) unexpected - ${message} `), { statusCode, json: { message } });
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} /var/run/docker.sock`), { code });
}

describe("classifyDockerError", () => {
  it("says to start Docker or use the process backend when the daemon does not answer (retryable)", () => {
    for (const code of ["ECONNREFUSED", "ENOENT", "ECONNRESET"]) {
      const error = classifyDockerError(socketError(code), context);
      expect(error).toMatchObject({ code: "unavailable", retryable: true });
      expect(error.message).toBe(`could not start the container for run r1: Docker is not answering at unix:///var/run/docker.sock (${code}); start Docker, or use the process backend`);
    }
  });

  it("tells a permission problem on the socket apart, as not retryable", () => {
    expect(classifyDockerError(socketError("EACCES"), context)).toMatchObject({ code: "unavailable", retryable: false, message: expect.stringContaining("docker group") });
  });

  it("maps Docker's answers to stable codes, with Docker's own message", () => {
    expect(classifyDockerError(httpError(404, "No such container: abc"), context)).toMatchObject({ code: "not_found", message: "could not start the container for run r1: No such container: abc" });
    expect(classifyDockerError(httpError(409, "Conflict. The container name is already in use"), context)).toMatchObject({ code: "conflict" });
    expect(classifyDockerError(httpError(400, "invalid mount config"), context)).toMatchObject({ code: "validation_failed", retryable: false });
    expect(classifyDockerError(httpError(500, "driver failed programming external connectivity"), context)).toMatchObject({ code: "provider_error", retryable: true });
    expect(classifyDockerError(httpError(500, 'OCI runtime create failed: exec: "x": executable file not found in $PATH'), context)).toMatchObject({ code: "provider_error", retryable: false });
  });

  it("keeps the original as the cause, and passes FerryErrors through", () => {
    const original = httpError(404, "gone");
    expect(classifyDockerError(original, context).cause).toBe(original);
    const ferry = new FerryError("not_found", "already classified");
    expect(classifyDockerError(ferry, context)).toBe(ferry);
    expect(classifyDockerError(new Error("something odd"), context)).toMatchObject({ code: "internal" });
  });

  it("classifies a real client's failure to reach a missing socket", async () => {
    const backend = new DockerRunnerBackend({ docker: new Dockerode({ socketPath: "/nonexistent/ferry-docker.sock" }) });
    await expect(backend.list()).rejects.toMatchObject({
      code: "unavailable",
      message: expect.stringMatching(/not answering at unix:\/\/\/nonexistent\/ferry-docker\.sock.*start Docker, or use the process backend/),
    });
  });
});
