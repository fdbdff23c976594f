import type { BlobLocation, BlobSourceModule, BlobStoreOptions, BlobStoreReader } from "@ferry/core";
import { EngineError } from "./errors.js";

/**
 * Opens a blob source's store through the provider module the server named for it. The engine names no
 * cloud and carries no cloud SDK: each store's reader is its provider package's engine-side module,
 * imported here by name (resolved beside the engine), so an engine without that package says so.
 */
export async function openBlobSource(
  module: string,
  location: BlobLocation,
  options: BlobStoreOptions,
  load: (specifier: string) => Promise<unknown> = (specifier) => import(specifier),
): Promise<BlobStoreReader> {
  let mod: Partial<BlobSourceModule>;
  try {
    mod = (await load(module)) as Partial<BlobSourceModule>;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException)?.code === "ERR_MODULE_NOT_FOUND";
    throw new EngineError(
      "download_failed",
      missing
        ? `this engine cannot read ${location.scheme} sources: ${module} is not installed beside it (npm i ${packageOf(module)} where the engine runs, or use an engine image that has it)`
        : `${module}, which reads ${location.scheme} sources, failed to load: ${(error as Error).message}`,
      { retryable: false, cause: error },
    );
  }
  if (typeof mod.openBlobStore !== "function") {
    throw new EngineError("download_failed", `${module} does not export openBlobStore(): it is not a reader of ${location.scheme} sources`, { retryable: false });
  }
  return mod.openBlobStore(location, options);
}

function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}
