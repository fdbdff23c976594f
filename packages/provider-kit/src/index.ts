// What every push provider needs once, tested once. See README.md for how a provider uses each part.
export { BoundedMap } from "./bounded-map.js";
export {
  defineErrorClassifier,
  readErrorFacts,
  kindOf,
  NETWORK_RULE,
  HTTP_STATUS_RULES,
  type ClassifyContext,
  type ErrorClassifier,
  type ErrorFacts,
  type ErrorKind,
  type ErrorRule,
  type ErrorTable,
  type MessageBuilder,
  type SpecialCase,
} from "./classify.js";
export { withRetries, backoffDelay, DEFAULT_RETRY, type RetryOptions } from "./retry.js";
export { idempotentSubmit, type IdempotentSubmitOptions, type Submit } from "./idempotent-submit.js";
export {
  createImagePlatformCheck,
  parseImageReference,
  isLocalOrPortRegistry,
  normalizeArchitecture,
  readImageArchitectures,
  checkArchitectures,
  architectureMismatch,
  selectManifest,
  offeredArchitectures,
  parseBearerChallenge,
  isManifestList,
  MANIFEST_ACCEPT,
  type ImageArchitectures,
  type ImagePlatform,
  type ImagePlatformCheck,
  type ImagePlatformCheckOptions,
  type ImageReference,
  type ManifestDescriptor,
  type ManifestList,
  type PlatformWords,
  type RegistryAccess,
} from "./image-platform.js";
export { finalLogLines, type FinalLogLinesOptions } from "./final-log-lines.js";
export { silentLogger, type ProviderLogger } from "./logger.js";
export { loopbackApiUrlWarning, poolCredentialsOrAmbient } from "./push-environment.js";
/** Moved to core (the server warns about it too); re-exported for providers that import it from here. */
export { isLoopbackUrl } from "@ferry/core";
export { secretValues, redact, containsSecret, withoutSecrets } from "./secrets.js";
export {
  defineProvisioner,
  stoppedAt,
  type CredentialsHandling,
  type FoundResource,
  type ProvisionerDefinition,
  type StepContext,
  type StepInput,
} from "./provisioning/define-provisioner.js";
