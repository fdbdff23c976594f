// The conformance suites (vitest): each provider package runs them with its cloud's local stand-in.
export { describeProviderConformance, providerConformanceChecks, submitRequest, submitLikeDispatcher } from "./provider-conformance.js";
export { describeProvisionerConformance, provisionerConformanceChecks } from "./provisioner-conformance.js";
export { captureLogger } from "./capture-logger.js";
export type { ConformanceCheck, ProviderConformanceHarness, ProvisionerConformanceHarness } from "./harness.js";
