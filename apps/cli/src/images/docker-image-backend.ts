import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable, type Readable } from "node:stream";
import type Dockerode from "dockerode";
import { FerryError } from "@ferry/core";
import { CONTEXT_FILES, generateDockerfile } from "./dockerfile.js";
import type { ImageBackend, ImageBuildPlan, ImageBuildResult } from "./image-build.js";
import { checkBuiltPlatform } from "./platform.js";
import { BuildLog, PushLog, type DockerEvent } from "./progress.js";
import { registryAuthHeader, registryConfigHeader } from "./registry-auth.js";
import { parsePythonProbe, pipDownloadArgs, PYTHON_PROBE, type PythonTarget } from "./wheelhouse.js";

/** Builds with the Docker daemon (the classic builder, which the Engine API drives without a BuildKit session) and pushes. */
export class DockerImageBackend implements ImageBackend {
  constructor(private readonly options: { python?: string } = {}) {}

  async buildAndPush(plan: ImageBuildPlan, progress: (line: string) => void): Promise<ImageBuildResult> {
    // Loaded here, not at the top: only a deploy with a build section pays for dockerode.
    const { default: Docker } = await import("dockerode");
    const docker = new Docker();
    try {
      await docker.ping();
    } catch (error) {
      throw new FerryError("unavailable", `Docker is not reachable (${(error as Error).message}); start Docker, or deploy with --no-build to use an image pushed before`, { cause: error });
    }
    const work = await mkdtemp(join(tmpdir(), "ferry-build-"));
    try {
      let context: { context: string; src: string[] };
      let dockerfile: string;
      if (plan.source.kind === "generated") {
        const user = await this.baseImageUser(docker, plan.source.baseImage, plan.platform, progress);
        const target = await this.pythonTarget(docker, plan.source.baseImage, plan.platform);
        await writeFile(join(work, CONTEXT_FILES.dockerfile), generateDockerfile({ baseImage: plan.source.baseImage, user }));
        await copyFile(plan.source.requirementsPath, join(work, CONTEXT_FILES.requirements));
        await mkdir(join(work, CONTEXT_FILES.wheels));
        progress(`Downloading wheels for ${plan.source.requirementsName} (Python ${target.pythonVersion}, ${plan.platform}) with this machine's pip settings`);
        await this.downloadWheels(join(work, CONTEXT_FILES.requirements), join(work, CONTEXT_FILES.wheels), target);
        context = { context: work, src: Object.values(CONTEXT_FILES) };
        dockerfile = CONTEXT_FILES.dockerfile;
      } else {
        // .dockerignore is applied by dockerode to these entries.
        context = { context: plan.source.contextDir, src: await readdir(plan.source.contextDir) };
        dockerfile = plan.source.dockerfile;
      }

      progress(`Building ${plan.target.reference} for ${plan.platform}`);
      const log = new BuildLog((line) => progress(`  ${line}`));
      const buildStream = await docker.buildImage(context, {
        t: plan.target.reference,
        dockerfile,
        platform: plan.platform,
        buildargs: plan.buildArgs,
        rm: true,
        forcerm: true,
        ...(plan.auth ? { registryconfig: { base64: registryConfigHeader([plan.auth]) } } : {}),
      } as Dockerode.ImageBuildOptions);
      await readEvents(buildStream as Readable, (e) => log.event(e));
      if (log.error) {
        const tail = log.lastLines();
        throw new FerryError("validation_failed", `building the image failed: ${log.error}${tail.length ? `\n  ${tail.join("\n  ")}` : ""}\nNothing was deployed.`, {
          details: { build_error: log.error },
        });
      }

      checkBuiltPlatform(plan.target.reference, plan.platform, await docker.getImage(plan.target.reference).inspect());

      progress(`Pushing ${plan.target.reference}`);
      const push = new PushLog();
      const header = registryAuthHeader(plan.auth ?? ({} as never));
      const pushStream = (await docker.getImage(plan.target.name).push({ tag: plan.target.tag, authconfig: { key: header } } as never)) as unknown as Readable;
      await readEvents(pushStream, (e) => push.event(e));
      if (push.error) {
        const auth = /denied|unauthorized|authentication required/i.test(push.error);
        throw new FerryError(auth ? "unauthenticated" : "unavailable", `pushing ${plan.target.reference} failed: ${push.error}${auth ? hintFor(plan) : ""}\nNothing was deployed.`);
      }
      progress(`Pushed ${plan.target.reference} (${push.summary()}${push.digest ? `, ${push.digest}` : ""})`);
      return { digest: push.digest };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** The base image's user, pulling the image first when this machine does not have it. */
  private async baseImageUser(docker: Dockerode, image: string, platform: string, progress: (line: string) => void): Promise<string> {
    try {
      return (await docker.getImage(image).inspect()).Config.User ?? "";
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    }
    progress(`Pulling ${image}`);
    const log = new PushLog();
    try {
      await readEvents((await docker.pull(image, { platform })) as unknown as Readable, (e) => log.event(e));
    } catch (error) {
      log.event({ error: (error as Error).message });
    }
    if (log.error) {
      throw new FerryError("not_found", `build.base_image: ${image} is not on this machine and could not be pulled (${log.error}); pull or build it first (the engine image: scripts/build-images.sh)`);
    }
    return (await docker.getImage(image).inspect()).Config.User ?? "";
  }

  /** Asks the base image's own Python what it is, so the wheels fit it. */
  private async pythonTarget(docker: Dockerode, image: string, platform: string): Promise<PythonTarget> {
    const container = await docker.createContainer({
      Image: image,
      Entrypoint: ["python3", "-c", PYTHON_PROBE],
      Cmd: [],
      platform,
      HostConfig: { NetworkMode: "none" },
    } as Dockerode.ContainerCreateOptions);
    try {
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
      const output = demux(logs);
      if (StatusCode !== 0) throw new FerryError("validation_failed", `build.base_image: ${image} has no working python3 (exit ${StatusCode}: ${output.trim().slice(0, 300)}); use build.dockerfile for an image without Python`);
      return parsePythonProbe(output, platform);
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }

  private downloadWheels(requirements: string, dest: string, target: PythonTarget): Promise<void> {
    const python = this.options.python ?? "python3";
    return new Promise((resolve, reject) => {
      execFile(python, pipDownloadArgs(requirements, dest, target), { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (!error) return resolve();
        const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
        const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-12).join("\n  ");
        reject(
          new FerryError(
            "validation_failed",
            missing
              ? `building the image needs ${python} with pip on this machine, to download the requirements' wheels; install it, or use build.dockerfile`
              : `downloading the requirements' wheels failed (pip download, binary wheels only, for ${target.platform} and Python ${target.pythonVersion}):\n  ${tail}\n` +
                  "A package with no wheel for that platform needs build.dockerfile to build it from source. Nothing was deployed.",
            { cause: error },
          ),
        );
      });
    });
  }
}

/** Reads Docker's JSON-lines progress stream to its end. */
function readEvents(stream: Readable, onEvent: (event: DockerEvent) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    const flush = (final: boolean) => {
      const lines = buffer.split(/\r?\n/);
      buffer = final ? "" : lines.pop()!;
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          onEvent(JSON.parse(line) as DockerEvent);
        } catch {
          onEvent({ stream: line });
        }
      }
    };
    stream.pipe(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          buffer += chunk.toString("utf8");
          flush(false);
          done();
        },
        final(done) {
          flush(true);
          resolve();
          done();
        },
      }),
    );
    stream.on("error", reject);
  });
}

/** A non-TTY container's log is multiplexed: 8-byte frame headers before each chunk. */
function demux(buffer: Buffer): string {
  let out = "";
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return out;
}

function hintFor(plan: ImageBuildPlan): string {
  const registry = plan.target.registry ?? "Docker Hub";
  if (plan.auth && plan.authFrom && plan.authFrom !== "build.registry_credentials") {
    return `\nHint: ${registry} refused the login from ${plan.authFrom}: the cloud identity of this shell needs permission to push to ${plan.target.name}.`;
  }
  return `\nHint: ${registry} refused ${plan.auth ? "the login from build.registry_credentials" : "an anonymous push"}; set build.registry_credentials in ferry.yaml.`;
}
