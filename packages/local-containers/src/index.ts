export type { ContainerRuntime, ContainerHandle, ContainerLaunch, ContainerExit, OutputLine } from "./container-runtime.js";
export {
  DockerContainerRuntime,
  buildContainerCreateOptions,
  containerLabels,
  parseDockerTimestamp,
  TimestampedLineSplitter,
  type ContainerLabels,
  type ContainerNetwork,
  type DockerContainerRuntimeOptions,
} from "./docker-container-runtime.js";
export { createLocalTls, type LocalTls } from "./tls.js";
