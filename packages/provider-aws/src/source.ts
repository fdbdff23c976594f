// The engine-side module of `s3://` sources (the package's `./source` export): the engine imports it by
// the name the plugin declares (S3_SOURCE_STORE) and calls openBlobStore.
export { openBlobStore } from "./s3-source.js";
