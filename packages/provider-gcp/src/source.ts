// The engine-side module of `gs://` sources (the package's `./source` export): the engine imports it by
// the name the plugin declares (GCS_SOURCE_STORE) and calls openBlobStore.
export { openBlobStore } from "./gcs-source.js";
