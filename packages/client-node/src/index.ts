export * from "./profiles.js";
export * from "./git.js";
export * from "./deploy.js";
