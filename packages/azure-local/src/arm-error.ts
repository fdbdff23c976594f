/** An error answered in ARM's shape: `{"error": {"code", "message"}}`. */
export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ArmError";
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isArmError(value: unknown): value is ArmError {
  return value instanceof ArmError;
}

export function notFound(type: string, name: string, resourceGroup?: string): ArmError {
  const where = resourceGroup === undefined ? "" : ` under resource group '${resourceGroup}'`;
  return new ArmError(404, "ResourceNotFound", `The Resource '${type}/${name}'${where} was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`);
}

export function resourceGroupNotFound(name: string): ArmError {
  return new ArmError(404, "ResourceGroupNotFound", `Resource group '${name}' could not be found.`);
}

export function badRequest(code: string, message: string): ArmError {
  return new ArmError(400, code, message);
}
