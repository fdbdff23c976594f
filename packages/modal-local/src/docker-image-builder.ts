import { Readable } from "node:stream";
import type Dockerode from "dockerode";
import type { ImageBuilder } from "./image-build.js";

/** A tar archive (ustar) holding one file: the build context of a Dockerfile with nothing to copy. */
export function singleFileTar(name: string, content: string): Buffer {
  const body = Buffer.from(content, "utf8");
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100, 8, "ascii"); // mode
  header.write("0000000\0", 108, 8, "ascii"); // uid
  header.write("0000000\0", 116, 8, "ascii"); // gid
  header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124, 12, "ascii");
  header.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, "0")}\0`, 136, 12, "ascii");
  header.write("        ", 148, 8, "ascii"); // checksum counts as spaces while it is computed
  header.write("0", 156, 1, "ascii"); // a regular file
  header.write("ustar\0", 257, 6, "ascii");
  header.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "ascii");
  const padding = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, padding, Buffer.alloc(1024)]);
}

/** Builds image layers with the Docker engine's classic builder (no registry: bases must be local). */
export class DockerImageBuilder implements ImageBuilder {
  constructor(
    private readonly docker: Dockerode,
    /** The network `RUN` steps use: `host` reaches a package index on 127.0.0.1. */
    private readonly network: "host" | "bridge" = "host",
  ) {}

  async hasImage(ref: string): Promise<boolean> {
    return this.docker
      .getImage(ref)
      .inspect()
      .then(
        () => true,
        (error: { statusCode?: number }) => {
          if (error.statusCode === 404) return false;
          throw error;
        },
      );
  }

  async remove(tag: string): Promise<void> {
    await this.docker
      .getImage(tag)
      .remove({ force: true })
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
  }

  async build(dockerfile: string, tag: string, onLog: (line: string) => void): Promise<void> {
    const stream = await this.docker.buildImage(Readable.from(singleFileTar("Dockerfile", dockerfile)), { t: tag, pull: false, rm: true, forcerm: true, networkmode: this.network });
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (error: Error | null, events: { error?: string; errorDetail?: { message?: string } }[]) => {
          const failed = events.find((e) => e.error !== undefined);
          if (error !== null) reject(error);
          else if (failed !== undefined) reject(new Error(`the image build failed: ${failed.errorDetail?.message ?? failed.error ?? "unknown error"}`));
          else resolve();
        },
        (event: { stream?: string }) => {
          if (event.stream !== undefined && event.stream !== "") onLog(event.stream);
        },
      );
    });
  }
}
