export { parseServerConfig, type ServerConfig, type ConfigOverrides } from "./config.js";
export { startServer, type RunningServer, type BootstrapResult, type StartOptions } from "./server.js";
export { loadPlugins, type LoadPluginsOptions } from "./plugins.js";
export { Dispatcher } from "./dispatcher.js";
export { cacheKey } from "./managed-dispatcher.js";
export { openStore } from "./store/open-store.js";
export { resetAdminToken, resetApiKey, type ResetKeyOptions, type ResetKeyResult } from "./reset-key.js";
