import {
  FerryError,
  isFerryError,
  validateJobVariables,
  validateWithSchema,
  type DeploymentApply,
  type DeploymentApplyResult,
  type DeploymentDraft,
  type FerryClient,
  type ProjectFile,
  type WorkPool,
} from "@ferry/core";

/** `flow/name`, how deployments are named to users. */
export function deploymentLabel(d: { flow_name: string; name: string }): string {
  return `${d.flow_name}/${d.name}`;
}

/**
 * The deployments of a project file a deploy applies: all of them, the ones named (by name or
 * flow/name), or the only one. Asking for an ambiguous or missing name is an error that lists what
 * the file has.
 */
export function selectDeployments(project: ProjectFile, names: string[], all: boolean, fileName: string): DeploymentDraft[] {
  const list = project.deployments;
  if (all) {
    if (names.length) throw new FerryError("validation_failed", "give deployment names or --all, not both");
    return list;
  }
  if (!names.length) {
    if (list.length === 1) return list;
    throw new FerryError(
      "validation_failed",
      `${fileName} has ${list.length} deployments (${list.map(deploymentLabel).join(", ")}); name the ones to deploy, or pass --all`,
    );
  }
  return names.map((name) => {
    const matches = list.filter((d) => d.name === name || deploymentLabel(d) === name);
    if (matches.length === 1) return matches[0]!;
    if (matches.length > 1) {
      throw new FerryError("validation_failed", `'${name}' matches ${matches.map(deploymentLabel).join(" and ")} in ${fileName}; give it as FLOW/NAME`);
    }
    throw new FerryError("not_found", `${fileName} has no deployment '${name}'; it has ${list.map(deploymentLabel).join(", ")}`);
  });
}

/**
 * Checks every deployment against its pool before applying any, so a typo in the second deployment
 * does not leave the first one applied. The server checks again; this only moves the failure earlier.
 */
export async function checkDeployments(client: FerryClient, deployments: DeploymentApply[]): Promise<void> {
  const pools = new Map<string, Promise<WorkPool>>();
  const problems: FerryError[] = [];
  for (const d of deployments) {
    if (!pools.has(d.work_pool)) pools.set(d.work_pool, client.api.getWorkPool({ params: { name: d.work_pool } }));
    let pool: WorkPool;
    try {
      pool = await pools.get(d.work_pool)!;
    } catch (error) {
      if (!isFerryError(error, "not_found")) throw error;
      problems.push(
        new FerryError(
          "not_found",
          `${deploymentLabel(d)}: work pool '${d.work_pool}' does not exist; create it with 'ferry work-pool create ${d.work_pool} --type ferry:managed'`,
        ),
      );
      continue;
    }
    try {
      validateJobVariables(pool.base_job_template, d.job_variables ?? {}, `job variables of ${deploymentLabel(d)}`);
    } catch (error) {
      if (!isFerryError(error)) throw error;
      problems.push(error);
    }
    try {
      checkDefaultParameters(d);
    } catch (error) {
      if (!isFerryError(error)) throw error;
      problems.push(error);
    }
  }
  if (problems.length === 1) throw new FerryError(problems[0]!.code, `${problems[0]!.message}; nothing was applied`, { details: problems[0]!.details });
  if (problems.length) {
    throw new FerryError("validation_failed", `nothing was applied:\n  ${problems.map((p) => p.message).join("\n  ")}`, {
      details: { problems: problems.map((p) => ({ code: p.code, message: p.message })) },
    });
  }
}

/**
 * A deployment's default parameters against its parameter schema. They may leave required parameters
 * to each run, but what they set must fit, or every run would be refused.
 */
export function checkDefaultParameters(d: Pick<DeploymentApply, "flow_name" | "name" | "parameters" | "parameter_schema">): void {
  if (!d.parameter_schema || !d.parameters) return;
  const { required: _required, ...schema } = d.parameter_schema;
  validateWithSchema(schema, d.parameters, `default parameters of ${deploymentLabel(d)}`);
}

/** The deployments applied before one failed: the error says which failed, `applied` what went through. */
export class ApplyError extends FerryError {
  constructor(
    cause: FerryError,
    failed: DeploymentApply,
    readonly applied: DeploymentApplyResult[],
  ) {
    super(cause.code, `${deploymentLabel(failed)}: ${cause.message}`, { details: cause.details, cause, retryable: cause.retryable });
  }
}

/**
 * Applies deployments in order, calling `onApplied` after each. A failure stops there and throws an
 * {@link ApplyError} naming the deployment and carrying those applied before it.
 */
export async function applyDeployments(
  client: FerryClient,
  deployments: DeploymentApply[],
  onApplied: (result: DeploymentApplyResult) => void = () => {},
): Promise<DeploymentApplyResult[]> {
  const results: DeploymentApplyResult[] = [];
  for (const deployment of deployments) {
    let result: DeploymentApplyResult;
    try {
      result = await client.api.applyDeployment({ body: deployment });
    } catch (error) {
      if (!isFerryError(error)) throw error;
      throw new ApplyError(error, deployment, results);
    }
    results.push(result);
    onApplied(result);
  }
  return results;
}
