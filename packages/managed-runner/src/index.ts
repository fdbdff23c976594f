export { DockerRunnerBackend } from "./docker-runner-backend.js";
export { parseDockerRunnerOptions, CONTAINER_CACHE_DIR, DEFAULT_EXTRA_HOSTS, type DockerRunnerOptions, type DockerRunnerConfig, type ContainerSettings } from "./docker-options.js";
export { buildContainerSpec, containerName, cacheVolumeName, runnerLabels } from "./docker-container-spec.js";
export { classifyDockerError } from "./docker-errors.js";
export { ProcessRunnerBackend } from "./process-runner-backend.js";
export { parseProcessRunnerOptions, resolveEngineCommand, INHERITED_ENV, type ProcessRunnerOptions, type ProcessRunnerConfig } from "./process-options.js";
export { createRunnerBackend, type RunnerBackendConfig, type ChosenRunnerBackend } from "./create-runner-backend.js";
export { TAIL_LINES } from "./line-tail.js";
