import { randomUUID } from "node:crypto";
import { badRequest } from "../arm-error.js";
import type { Route } from "../router.js";
import type { ServerContext } from "./context.js";
import { trackedResourceRoutes } from "./tracked-resources.js";

/** Microsoft.ManagedIdentity/userAssignedIdentities: each has a principal id that role assignments can name. */
export function identityRoutes(context: ServerContext, removeChildren: (resourceId: string) => void): Route[] {
  return trackedResourceRoutes(
    context,
    {
      namespace: "Microsoft.ManagedIdentity",
      type: "userAssignedIdentities",
      operations: "UserAssignedIdentities",
      createVerb: "CreateOrUpdate",
      longRunning: false,
      checkName(name) {
        if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/.test(name)) throw badRequest("InvalidResourceName", `The resource name '${name}' is invalid: 3–128 letters, digits, hyphens and underscores, starting with a letter or digit.`);
      },
      build({ id, name, body, existing }) {
        const location = typeof body["location"] === "string" ? body["location"] : existing?.location;
        if (location === undefined) throw badRequest("LocationRequired", "The location property is required for this definition.");
        return {
          id,
          name,
          type: "Microsoft.ManagedIdentity/userAssignedIdentities",
          location,
          tags: (body["tags"] as Record<string, string> | undefined) ?? {},
          properties: existing?.properties ?? { tenantId: context.tenantId, principalId: randomUUID(), clientId: randomUUID(), isolationScope: "None" },
        };
      },
    },
    removeChildren,
  );
}
