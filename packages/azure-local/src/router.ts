import { ArmError } from "./arm-error.js";

/** Who made a call: the service principal an access token names. */
export interface Principal {
  objectId: string;
  appId: string;
  displayName: string;
  directoryWriter: boolean;
  /** The audience the token was obtained for (its scope less `/.default`). */
  audience: string;
}

export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  principal: Principal;
  /** `https://127.0.0.1:<port>`: for the URLs the server hands out (async operations, next links). */
  baseUrl: string;
}

export interface RouteResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  /** A path template, `{name}` for (part of) a segment, `{name*}` for one or more segments; matched case-insensitively, as ARM does. */
  template: string;
  /** The REST API's operation id (e.g. `ContainerGroups_CreateOrUpdate`): what calls() records and faults match. */
  operation: string;
  /** The RBAC action checked before the handler runs, and at which scope; absent: any signed-in principal. */
  authorize?: (params: Record<string, string>) => { action: string; scope: string };
  handle(request: RouteRequest): Promise<RouteResponse> | RouteResponse;
}

interface CompiledRoute {
  route: Route;
  regex: RegExp;
  names: string[];
}

export class Router {
  private readonly compiled: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.template
        .split(/(\{\w+\*?\})/)
        .map((part) => {
          const match = /^\{(\w+)(\*?)\}$/.exec(part);
          if (match === null) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(match[1]!);
          return match[2] === "*" ? "(.+?)" : "([^/]+?)";
        })
        .join("");
      this.compiled.push({ route, regex: new RegExp(`^${source}/?$`, "i"), names });
    }
    return this;
  }

  /** The route for a method and path, with its parameters decoded; a 404/405 ArmError when there is none. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } {
    let pathMatched = false;
    for (const { route, regex, names } of this.compiled) {
      const found = regex.exec(path);
      if (found === null) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = decodeURIComponent(found[i + 1]!)));
      return { route, params };
    }
    if (pathMatched) throw new ArmError(405, "MethodNotAllowed", `The requested resource does not support http method '${method}'.`);
    throw new ArmError(404, "NoRegisteredProviderFound", `azure-local does not serve ${method} ${path}: only the calls Ferry makes are served (see the README of @ferry/azure-local).`);
  }
}
