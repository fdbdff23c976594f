export { startKubernetesLocal, applyPatch, type KubernetesLocal, type KubernetesLocalOptions } from "./kubernetes-local-server.js";
export { ObjectStore, StatusError, matchesSelector, type KubeObject, type Resource, type WatchEvent } from "./object-store.js";
export { Cluster, type ClusterOptions } from "./cluster.js";
export { parseBytes, parseCpus } from "./quantities.js";
