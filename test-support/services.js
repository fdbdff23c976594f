// @ts-check
// The services `npm run test:e2e` needs, probed once per test file: each check is a describe() option
// object, so a suite whose service is missing is skipped with the reason attached to every test in it.
// skips-reporter.js prints those reasons once per file, and under CI=true fails the run on any skip.
// Plain JavaScript with a .d.ts beside it: the packages' tests import it across their rootDir.
import { request } from "node:http";

/** How to get each service; the messages say it so a contributor knows what to run. */
const CI_RUN = "bash .ci/run starts every service";

/** Images the tests start from, and how each is built on this machine (no registry has them). */
const IMAGE_RECIPES = {
  "ferry-base:bookworm": "bash scripts/build-base-image.sh",
  "ferry-engine:latest": "bash scripts/build-images.sh",
  "ferry-server:latest": "bash deploy/server/build-image.sh",
  "ferry-postgres:15": "bash deploy/postgres/build-image.sh",
};

/** @typedef {{ skip: boolean; meta: { skipReason?: string } }} ServiceCheck */

/**
 * A check from a problem: null when the service is there (the suite runs), else a skip naming why.
 * @param {string | null} problem
 * @returns {ServiceCheck}
 */
export function serviceCheck(problem) {
  return problem === null ? { skip: false, meta: {} } : { skip: true, meta: { skipReason: problem } };
}

/**
 * Every check at once: skipped when any is, with all their reasons.
 * @param {ServiceCheck[]} checks
 * @returns {ServiceCheck}
 */
export function allOf(...checks) {
  const reasons = checks.map((c) => c.meta.skipReason).filter((r) => r !== undefined);
  return serviceCheck(reasons.length ? reasons.join("; ") : null);
}

/** @returns {ServiceCheck} PostgreSQL, at FERRY_TEST_DATABASE_URL (a role that may create databases). */
export function postgres() {
  return serviceCheck(
    process.env.FERRY_TEST_DATABASE_URL
      ? null
      : `PostgreSQL: set FERRY_TEST_DATABASE_URL=postgres://user:pass@host/db, a role that may create databases (${CI_RUN})`,
  );
}

/**
 * A Docker engine (DOCKER_HOST, else /var/run/docker.sock) that answers, with these images present and
 * these OCI runtimes registered (e.g. runsc, gVisor).
 * @param {{ images?: string[]; runtimes?: string[] }} [options]
 * @returns {Promise<ServiceCheck>}
 */
export async function docker(options = {}) {
  const host = process.env.DOCKER_HOST || "unix:///var/run/docker.sock";
  const ping = await dockerGet(host, "/_ping");
  if (ping.error !== null) return serviceCheck(`Docker: no engine answers at ${host} (${ping.error}); bash scripts/docker-up.sh starts one (${CI_RUN})`);
  for (const image of options.images ?? []) {
    const found = await dockerGet(host, `/images/${encodeURIComponent(image)}/json`);
    if (found.error !== null) {
      const recipe = IMAGE_RECIPES[/** @type {keyof typeof IMAGE_RECIPES} */ (image)] ?? `docker pull ${image}`;
      return serviceCheck(`Docker: the image ${image} is missing (${found.error}); build it with ${recipe} (${CI_RUN})`);
    }
  }
  if (options.runtimes?.length) {
    const info = await dockerGet(host, "/info");
    /** @type {string[]} */
    const known = Object.keys(/** @type {{ Runtimes?: Record<string, unknown> }} */ (info.body ?? {}).Runtimes ?? {});
    const missing = options.runtimes.filter((r) => !known.includes(r));
    if (missing.length) {
      return serviceCheck(`Docker: the runtime ${missing.join(", ")} is not registered (it has ${known.join(", ") || "none"}); bash scripts/docker-up.sh installs runsc and registers it (${CI_RUN})`);
    }
  }
  return serviceCheck(null);
}

/**
 * Debian's docker-compose (the Python one, 1.29) on the PATH.
 * @returns {Promise<ServiceCheck>}
 */
export async function dockerCompose() {
  const { execFile } = await import("node:child_process");
  const problem = await new Promise((resolve) =>
    execFile("docker-compose", ["version", "--short"], { timeout: 30_000 }, (error) =>
      resolve(error ? `docker-compose: not found or not working (${error.message.split("\n")[0]}); apt-get install docker-compose (${CI_RUN})` : null),
    ),
  );
  return serviceCheck(/** @type {string | null} */ (problem));
}

/**
 * Root on this machine: the tests that add host firewall rules or network namespaces need it.
 * @param {string} why
 * @returns {ServiceCheck}
 */
export function root(why) {
  return serviceCheck(process.getuid?.() === 0 ? null : `root: ${why} needs root (${CI_RUN} as root, or under sudo)`);
}

/**
 * The image registry at FERRY_TEST_REGISTRY (host:port, plain HTTP), answering its API.
 * @returns {Promise<ServiceCheck>}
 */
export async function registry() {
  const address = process.env.FERRY_TEST_REGISTRY;
  const how = `export FERRY_TEST_REGISTRY="$(bash scripts/registry-up.sh)" starts one and names it (${CI_RUN})`;
  if (!address) return serviceCheck(`image registry: FERRY_TEST_REGISTRY is not set; ${how}`);
  try {
    const res = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(3000) });
    return serviceCheck(res.ok ? null : `image registry: http://${address}/v2/ answered ${res.status}; ${how}`);
  } catch (error) {
    return serviceCheck(`image registry: nothing answers at ${address} (${/** @type {Error} */ (error).message}); ${how}`);
  }
}

/**
 * GET on the Docker API; `error` says why it did not answer 2xx, `body` is its JSON answer (or null).
 * @param {string} host DOCKER_HOST: unix:///path or tcp://host:port
 * @param {string} path
 * @returns {Promise<{ error: string | null; body?: unknown }>}
 */
function dockerGet(host, path) {
  const url = new URL(host);
  /** @type {import("node:http").RequestOptions} */
  const target =
    url.protocol === "unix:" ? { socketPath: url.pathname, path } : { host: url.hostname, port: Number(url.port) || 2375, path };
  if (url.protocol !== "unix:" && url.protocol !== "tcp:") return Promise.resolve({ error: `DOCKER_HOST ${host} is neither unix:// nor tcp://` });
  return new Promise((resolve) => {
    const req = request({ ...target, method: "GET", timeout: 5000 }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => {
        /** @type {unknown} */
        let body = null;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          body = null;
        }
        resolve({ error: res.statusCode !== undefined && res.statusCode < 300 ? null : `HTTP ${res.statusCode}`, body });
      });
    });
    req.on("timeout", () => req.destroy(new Error("no answer in 5 s")));
    req.on("error", (error) => resolve({ error: error.message }));
    req.end();
  });
}
