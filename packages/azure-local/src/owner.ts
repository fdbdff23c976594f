import { randomUUID } from "node:crypto";
import type { ServerContext } from "./routes/context.js";

const OWNER_ROLE = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";

/**
 * The user's own identity, made at start: an app registration with a client secret, its service
 * principal (allowed to manage app registrations in Graph) and an Owner assignment on the subscription.
 */
export function bootstrapOwner(context: ServerContext): { clientId: string; clientSecret: string } {
  const app = context.directory.createApplication({ displayName: "azure-local owner" });
  const { secretText } = context.directory.addPassword(app, "azure-local");
  const sp = context.directory.createServicePrincipal(app, { directoryWriter: true });
  const subscription = `/subscriptions/${context.subscriptionId}`;
  const name = randomUUID();
  const id = `${subscription}/providers/Microsoft.Authorization/roleAssignments/${name}`;
  context.arm.roleAssignments.set(id.toLowerCase(), {
    id,
    name,
    principalId: sp.id,
    principalType: "ServicePrincipal",
    roleDefinitionId: `${subscription}/providers/Microsoft.Authorization/roleDefinitions/${OWNER_ROLE}`,
    scope: subscription,
    createdOn: new Date(context.now()).toISOString(),
  });
  return { clientId: app.appId, clientSecret: secretText };
}
