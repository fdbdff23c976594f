export * from "./fake-provider.js";
export * from "./provider-conformance.js";
export { fakeProviderPlugin as default } from "./fake-provider.js";
