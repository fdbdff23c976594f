export { parseServerConfig, FIRST_PARTY_PROVIDERS, type ServerConfig, type ConfigOverrides } from "./config.js";
export { startServer, type RunningServer, type BootstrapResult, type StartOptions } from "./server.js";
export { loadPlugins } from "./plugins.js";
export { Dispatcher } from "./dispatcher.js";
export { cacheKey } from "./managed-dispatcher.js";
export { openStore } from "./store/open-store.js";
