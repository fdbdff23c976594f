/**
 * What a browser bundle (the web UI) takes from core: the typed client, errors, states and the models'
 * types, without the parts only servers and the CLI need (YAML, JSON Schema validation with RE2).
 */
export * from "./errors.js";
export * from "./states.js";
export * from "./tiers.js";
export { FerryClient, type FerryClientOptions, type ApiMethods } from "./api/client.js";
export { LOG_LEVELS } from "./models.js";
export type * from "./models.js";
export { FLOW_RUN_EVENTS_PATH, WORKSPACE_EVENTS_PATH, routePath } from "./api/routes.js";
export { flowRunUiUrl } from "./urls.js";
export type { RouteInput, RouteName, RouteOutput, FlowRunCreate, FlowRunListQuery, WorkPoolCreate, WorkPoolUpdate, CredentialsCreate } from "./api/routes.js";
