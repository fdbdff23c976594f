#!/usr/bin/env node
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startKubernetesLocal } from "./kubernetes-local-server.js";

/**
 * `kubernetes-local [--network host|bridge] [--bind /host:/container]… [--namespace NS]`: starts the
 * server, prints one JSON line `{"url", "kubeconfig"}` (a kubeconfig file it wrote), then one JSON line
 * per object created (`{"event": "ADDED", "resource", "name", "labels", "at"}`, `at` in ms since the
 * epoch) for whoever times them (the bench), until SIGTERM or SIGINT.
 */
const { values } = parseArgs({
  options: { network: { type: "string", default: "host" }, bind: { type: "string", multiple: true, default: [] }, namespace: { type: "string", default: "default" } },
});
if (values.network !== "host" && values.network !== "bridge") {
  process.stderr.write("kubernetes-local: --network is host or bridge\n");
  process.exit(2);
}
const local = await startKubernetesLocal({ network: values.network, binds: values.bind });
const configDir = mkdtempSync(join(tmpdir(), "kubernetes-local-config-"));
const kubeconfig = local.writeKubeconfig(configDir, values.namespace);
process.stdout.write(`${JSON.stringify({ url: local.url, kubeconfig })}\n`);
local.store.subscribe((event) => {
  if (event.type !== "ADDED") return;
  process.stdout.write(`${JSON.stringify({ event: "ADDED", resource: event.resource, name: event.object.metadata.name, labels: event.object.metadata.labels ?? {}, at: Date.now() })}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    void local.close().finally(() => {
      rmSync(configDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
}
