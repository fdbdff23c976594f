// Test doubles for Ferry's contracts. No test-runner import here: a server may load the fake provider
// as a plugin. The conformance suites (vitest) are in "@ferry/provider-kit/conformance".
export * from "./fake-provider.js";
export * from "./fixtures.js";
export * from "./fake-runner.js";
export { fakeProviderPlugin as default } from "./fake-provider.js";
