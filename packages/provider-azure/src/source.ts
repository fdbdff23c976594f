// The engine-side module of Azure Blob sources (the package's `./source` export): the engine imports it
// by the name the plugin declares (AZURE_BLOB_SOURCE_STORE) and calls openBlobStore.
export { openBlobStore, EMULATOR_ACCOUNT } from "./blob-source.js";
