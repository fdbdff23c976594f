import type Docker from "dockerode";

export const ENGINE_IMAGE = "ferry-engine:latest";

/**
 * Why tests that need Docker and the engine image cannot run here, or null when they can. On CI
 * (CI=true) a missing Docker is an error, not a skip: .ci/run must provide it.
 */
export async function dockerProblem(docker: Docker, what: string): Promise<string | null> {
  let problem: string | null = null;
  try {
    await docker.ping();
    await docker.getImage(ENGINE_IMAGE).inspect().catch(() => {
      problem = `the image ${ENGINE_IMAGE} is missing; run scripts/build-images.sh`;
    });
  } catch (error) {
    problem = `no Docker engine answers (${(error as Error).message}); run scripts/docker-up.sh`;
  }
  if (problem && process.env.CI) throw new Error(`CI must run the ${what}, but ${problem}`);
  if (problem) console.warn(`${what} skipped: ${problem}`);
  return problem;
}
