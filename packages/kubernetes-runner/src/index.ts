export { KubernetesRunnerBackend, loadKubeConfig, type KubernetesRunnerBackendOptions } from "./kubernetes-runner-backend.js";
export { parseKubernetesOptions, ENGINE_CONTAINER, POD_CACHE_DIR, POD_HOME_DIR, POD_SCRATCH_DIR, type KubernetesRunnerOptions, type KubernetesSettings, type KubernetesCacheMode } from "./kubernetes-options.js";
export { buildRunJob, buildRunSecret, buildCacheClaim, jobName, secretName, cacheClaimName, runnerLabels, labelValue } from "./job-spec.js";
export { podOutcome, jobFinished, PLATFORM_EXIT_CODE, type PodOutcome } from "./pod-exit.js";
export { buildRunsNetworkPolicy, METADATA_CIDR, type RunsNetworkPolicyOptions } from "./network-policy.js";
export { classifyKubernetesError } from "./kubernetes-errors.js";
