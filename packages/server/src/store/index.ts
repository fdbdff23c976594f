export { openStore, IN_MEMORY, type OpenStoreOptions } from "./open-store.js";
export { SqlStore, type SqlStoreOptions } from "./sql-store.js";
export { MIGRATIONS, migrate, type Migration } from "./migrations.js";
