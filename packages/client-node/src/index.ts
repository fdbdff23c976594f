export * from "./profiles.js";
export * from "./git.js";
export * from "./deploy.js";
export * from "./entrypoints.js";
export * from "./parameter-schemas.js";
export * from "./client-plugins.js";
export * from "./flow.js";
