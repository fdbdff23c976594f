import type Docker from "dockerode";
import { DEFAULT_ENGINE_IMAGE } from "@ferry/core";

/** The image ECS tasks and managed runs start from in these tests: Ferry's engine, built on this host. */
export const ENGINE_IMAGE = DEFAULT_ENGINE_IMAGE;

/**
 * Why tests that run the engine image in Docker cannot run here, or null when they can. On CI
 * (CI=true) a missing Docker or image is an error, not a skip: .ci/run must provide them.
 */
export async function engineImageProblem(docker: Docker, what: string): Promise<string | null> {
  let problem: string | null = null;
  try {
    await docker.ping();
    await docker.getImage(ENGINE_IMAGE).inspect().catch(() => {
      problem = `the image ${ENGINE_IMAGE} is missing; build it with scripts/build-images.sh`;
    });
  } catch (error) {
    problem = `no Docker engine answers (${(error as Error).message}); run scripts/docker-up.sh`;
  }
  if (problem && process.env.CI) throw new Error(`CI must run the ${what}, but ${problem}`);
  if (problem) console.warn(`${what} skipped: ${problem}`);
  return problem;
}
