import { Document, isMap, isSeq, parseDocument, YAMLMap, YAMLSeq } from "yaml";
import { defaultFlowName, FerryError } from "@ferry/core";

/** One deployment as `ferry deploy`'s walk-through writes it into ferry.yaml. */
export interface DeploymentEntry {
  name: string;
  /** Written only when it differs from the entrypoint's default. */
  flow_name?: string;
  entrypoint: string;
  work_pool: string;
  parameters?: Record<string, unknown>;
  schedules?: { cron: string; timezone?: string }[];
}

const HEADER = " Ferry project file: see 'ferry deploy --help'. Written by 'ferry deploy'; edit it freely, comments are kept.";

/**
 * ferry.yaml with `entry` added, or replacing the deployment of the same name (and flow): through the
 * YAML document, so the file's comments, order and style survive. Of a replaced deployment, the keys
 * the walk-through does not ask about (source, tags, job variables…) are kept.
 */
export function upsertDeployment(text: string | null, entry: DeploymentEntry): string {
  const doc = text === null || !text.trim() ? new Document({}) : parseDocument(text);
  if (doc.errors.length) throw new FerryError("validation_failed", `ferry.yaml is not valid YAML, so it was not changed: ${doc.errors[0]!.message.split("\n")[0]}`);
  if (text === null || !text.trim()) doc.commentBefore = HEADER;
  if (!isMap(doc.contents)) throw new FerryError("validation_failed", "ferry.yaml is not a mapping (deployments: [...]), so it was not changed");
  let deployments = doc.get("deployments");
  if (deployments === undefined || deployments === null) {
    deployments = new YAMLSeq();
    doc.set("deployments", deployments);
  }
  if (!isSeq(deployments)) throw new FerryError("validation_failed", "ferry.yaml's 'deployments' is not a list, so it was not changed");
  const wantedFlow = entry.flow_name ?? defaultFlowName(entry.entrypoint);
  const existing = deployments.items.find((item): item is YAMLMap => isMap(item) && item.get("name") === entry.name && flowOf(item) === wantedFlow);
  const target = existing ?? new YAMLMap();
  target.set("name", entry.name);
  if (entry.flow_name !== undefined && entry.flow_name !== defaultFlowName(entry.entrypoint)) target.set("flow_name", entry.flow_name);
  else if (existing) target.delete("flow_name");
  target.set("entrypoint", entry.entrypoint);
  const pool = target.get("work_pool");
  if (isMap(pool)) pool.set("name", entry.work_pool);
  else target.set("work_pool", doc.createNode({ name: entry.work_pool }, { flow: true }));
  if (entry.parameters && Object.keys(entry.parameters).length) target.set("parameters", doc.createNode(entry.parameters));
  else target.delete("parameters");
  if (entry.schedules?.length) target.set("schedules", doc.createNode(entry.schedules));
  else target.delete("schedules");
  if (!existing) deployments.items.push(target);
  return doc.toString({ lineWidth: 0 });
}

/** A file's deployment's flow: its `flow_name`, or its entrypoint's default. */
function flowOf(m: YAMLMap): string | null {
  const explicit = m.get("flow_name");
  if (typeof explicit === "string") return explicit;
  const entrypoint = m.get("entrypoint");
  try {
    return typeof entrypoint === "string" ? defaultFlowName(entrypoint) : null;
  } catch {
    return null;
  }
}
