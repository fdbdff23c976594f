export { openStore, IN_MEMORY, type OpenStoreOptions } from "./open-store.js";
export { SqlStore } from "./sql-store.js";
export { MIGRATIONS, migrate, type Migration } from "./migrations.js";
