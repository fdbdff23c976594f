import { Type, type Static } from "@sinclair/typebox";
import { FerryError } from "./errors.js";

/**
 * What a caller may do in its workspace. Each role includes the ones below it, so a route names the
 * weakest role that may call it and one comparison decides.
 * - `viewer`: read everything (runs, logs, deployments, pools; credentials masked).
 * - `runner`: also create and cancel runs of existing deployments.
 * - `deployer`: also create, update and delete deployments.
 * - `admin`: everything (pools, credentials, API keys, trust policies); what an API key is.
 */
export const ROLES = ["viewer", "runner", "deployer", "admin"] as const;
export type Role = (typeof ROLES)[number];
export const RoleSchema = Type.Union(ROLES.map((r) => Type.Literal(r)), { description: "viewer < runner < deployer < admin; each includes the ones before it" });
export type RoleName = Static<typeof RoleSchema>;

export function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

export function roleAllows(held: Role, needed: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(needed);
}

/** The 403 when a caller's role is below a route's: it says which role is needed and which is held. */
export function assertRole(held: Role, needed: Role, action: string): void {
  if (roleAllows(held, needed)) return;
  throw new FerryError(
    "forbidden",
    `${action} needs the '${needed}' role; this credential has '${held}'. Use an API key (admin) or a trust policy that maps to '${needed}' or above`,
    { details: { needed_role: needed, held_role: held } },
  );
}
