export { DockerRunnerBackend, type RunsNetwork } from "./docker-runner-backend.js";
export {
  parseDockerRunnerOptions,
  CONTAINER_CACHE_DIR,
  CONTAINER_HOME_DIR,
  CONTAINER_SCRATCH_DIR,
  DEFAULT_EXTRA_HOSTS,
  DEFAULT_RUN_USER,
  type DockerRunnerOptions,
  type DockerRunnerConfig,
  type ContainerSettings,
} from "./docker-options.js";
export { buildContainerSpec, buildRunsNetworkSpec, containerName, cacheVolumeName, cacheVolumeLabels, runnerLabels } from "./docker-container-spec.js";
export { runnerFirewallRules, describeFirewallRules, applyFirewallRules, removeFirewallRules, runIptables, METADATA_RANGE, type FirewallRule, type IptablesRunner } from "./docker-firewall.js";
export { classifyDockerError } from "./docker-errors.js";
export { ProcessRunnerBackend } from "./process-runner-backend.js";
export { parseProcessRunnerOptions, resolveEngineCommand, INHERITED_ENV, type ProcessRunnerOptions, type ProcessRunnerConfig } from "./process-options.js";
export { createRunnerBackend, type RunnerBackendConfig, type ChosenRunnerBackend } from "./create-runner-backend.js";
export { TAIL_LINES } from "./line-tail.js";
