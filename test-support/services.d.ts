// Types of services.js, for the packages' tests (their tsconfig's rootDir keeps .ts files of other
// folders out, declarations are allowed).

/** A describe() option object: `describe("…", await docker(), () => …)`. */
export interface ServiceCheck {
  skip: boolean;
  meta: { skipReason?: string };
}

declare module "@vitest/runner" {
  interface TaskMeta {
    /** Why the test was skipped: the missing service and how to get it (see skips-reporter.js). */
    skipReason?: string;
  }
}

/** A check from a problem: null when the service is there, else a skip naming why. */
export function serviceCheck(problem: string | null): ServiceCheck;
/** Every check at once: skipped when any is, with all their reasons. */
export function allOf(...checks: ServiceCheck[]): ServiceCheck;
/** PostgreSQL at FERRY_TEST_DATABASE_URL. */
export function postgres(): ServiceCheck;
/** A Docker engine (DOCKER_HOST, else /var/run/docker.sock) that answers, with these images and OCI runtimes. */
export function docker(options?: { images?: string[]; runtimes?: string[] }): Promise<ServiceCheck>;
/** Debian's docker-compose on the PATH. */
export function dockerCompose(): Promise<ServiceCheck>;
/** Root on this machine (host firewall rules, network namespaces); `why` names the tests' need. */
export function root(why: string): ServiceCheck;
/** The image registry at FERRY_TEST_REGISTRY (host:port, plain HTTP). */
export function registry(): Promise<ServiceCheck>;
