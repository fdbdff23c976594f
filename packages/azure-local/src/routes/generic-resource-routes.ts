import { resourceGroupNotFound } from "../arm-error.js";
import { matchesTagFilter } from "../arm-state.js";
import type { Route, RouteResponse } from "../router.js";
import { checkSubscription, RG, type ServerContext } from "./context.js";

interface Summary {
  id: string;
  name: string;
  type: string;
  location?: string;
  tags: Record<string, string>;
}

/** `GET …/resources` for the subscription and for a resource group: every resource, filtered by tag (`tagName eq '…' and tagValue eq '…'`) or type (`resourceType eq '…'`). */
export function genericResourceRoutes(context: ServerContext): Route[] {
  const list = (prefix: string, filter: string | null): RouteResponse => {
    const type = /resourceType\s+eq\s+'([^']+)'/i.exec(filter ?? "")?.[1]?.toLowerCase();
    const summaries: Summary[] = [
      ...context.arm.list(prefix).map((r) => ({ id: r.id, name: r.name, type: r.type, ...(r.location === undefined ? {} : { location: r.location }), tags: r.tags ?? {} })),
      ...context.containerGroups.list(prefix).map((g) => ({ id: g.id, name: g.name, type: "Microsoft.ContainerInstance/containerGroups", location: g.spec.location, tags: g.spec.tags })),
    ];
    const value = summaries.filter((r) => matchesTagFilter(r.tags, filter) && (type === undefined || r.type.toLowerCase() === type));
    return { status: 200, body: { value } };
  };
  return [
    {
      method: "GET",
      template: "/subscriptions/{subscriptionId}/resources",
      operation: "Resources_List",
      authorize: (p) => ({ action: "Microsoft.Resources/subscriptions/resources/read", scope: `/subscriptions/${p["subscriptionId"]}` }),
      handle: ({ params, query }) => {
        checkSubscription(context, params["subscriptionId"]!);
        return list(`/subscriptions/${context.subscriptionId}/`, query.get("$filter"));
      },
    },
    {
      method: "GET",
      template: `${RG}/resources`,
      operation: "Resources_ListByResourceGroup",
      authorize: (p) => ({ action: "Microsoft.Resources/subscriptions/resourceGroups/resources/read", scope: `/subscriptions/${p["subscriptionId"]}/resourceGroups/${p["resourceGroupName"]}` }),
      handle: ({ params, query }) => {
        checkSubscription(context, params["subscriptionId"]!);
        const group = context.arm.resourceGroup(context.subscriptionId, params["resourceGroupName"]!);
        if (group === undefined) throw resourceGroupNotFound(params["resourceGroupName"]!);
        return list(`${group.id}/`, query.get("$filter"));
      },
    },
  ];
}
