/** Where the test hooks are served. */
export const HOOKS_PREFIX = "/__azure-local/";
