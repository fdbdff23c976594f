/**
 * Workspace Trust: in Restricted Mode the views stay, read-only. Commands that send the workspace's
 * code or ferry.yaml to a server, change what runs there, or start the CLI need a trusted workspace;
 * the menus hide them (`isWorkspaceTrusted` in package.json) and this refuses them when called anyway
 * (from a keybinding, a link, another extension).
 */
export const TRUST_REQUIRED: ReadonlySet<string> = new Set([
  "ferry.deployThisFlow",
  "ferry.deployFromFile",
  "ferry.runDeployment",
  "ferry.cancelRun",
  "ferry.createWorkPool",
]);

export function restrictedMessage(what: string): string {
  return `${what} needs a trusted workspace: this folder is open in Restricted Mode, where the Ferry views are read-only. Trust the folder to deploy and run flows from it.`;
}
