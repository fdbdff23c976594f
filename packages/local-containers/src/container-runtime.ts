/**
 * The narrow contract between a local cloud's jobs (ECS tasks, Cloud Run executions, container groups,
 * sandboxes) and whatever runs their containers: the Docker engine in practice, a hand-written fake in
 * unit tests. What a container's exit means for the job (stop code, reason) is decided by the local
 * server's own lifecycle, not here.
 */
export interface ContainerRuntime {
  /** Whether the image is on the host. Images are never pulled. */
  hasImage(image: string): Promise<boolean>;
  /** Creates and starts the task's container. */
  start(launch: ContainerLaunch): Promise<ContainerHandle>;
  /** The container of the job `key` started before a restart, or null when it is gone. */
  find(key: string): Promise<ContainerHandle | null>;
  /** Removes every container this runtime started and that is still there. */
  removeAll(): Promise<void>;
}

export interface ContainerLaunch {
  /** The container's name, unique on the engine (e.g. `aws-local-<task id>`). */
  name: string;
  /** The cloud's id of the job the container runs (a task ARN, an execution name): what `find` looks up. */
  key: string;
  image: string;
  command?: string[];
  entryPoint?: string[];
  env: Record<string, string>;
  /** A hard limit, without swap. */
  memoryMib?: number;
  workingDirectory?: string;
  user?: string;
  /** An init as PID 1 that forwards signals to the program. */
  init: boolean;
  /** CPUs, e.g. 0.5 (none: no limit). */
  cpus?: number;
  /** The root filesystem read-only (what a job writes goes to `tmpfs` and `binds`). */
  readOnlyRootFilesystem?: boolean;
  /** Every capability dropped and no privilege gained through setuid binaries. */
  dropCapabilities?: boolean;
  /** Memory filesystems by mount point, with Docker's options (e.g. `rw,exec,mode=1777`). */
  tmpfs?: Record<string, string>;
  /** Host directories, `/host/path:/container/path[:ro]`. */
  binds?: string[];
}

export interface OutputLine {
  stream: "stdout" | "stderr";
  /** Milliseconds since the epoch, when the container printed it. */
  timestamp: number;
  message: string;
}

export interface ContainerExit {
  exitCode: number;
  oomKilled: boolean;
}

export interface ContainerHandle {
  id: string;
  /** Calls `onLine` for each line printed after `sinceMs` (all when absent); resolves once the container has exited and its output is read. */
  follow(onLine: (line: OutputLine) => void, sinceMs?: number): Promise<void>;
  wait(): Promise<ContainerExit>;
  /** SIGTERM, then SIGKILL after the grace period. */
  stop(graceSeconds: number): Promise<void>;
  remove(): Promise<void>;
}
