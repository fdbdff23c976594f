const BINARY: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
const DECIMAL: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A memory quantity (`64Mi`, `2Gi`, `500M`, `1048576`) in bytes; null when it is not one. */
export function parseBytes(text: string | number | undefined): number | null {
  if (text === undefined) return null;
  if (typeof text === "number") return text;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(text.trim());
  if (!match) return null;
  const unit = match[2];
  return Math.round(Number(match[1]) * (unit ? (BINARY[unit] ?? DECIMAL[unit] ?? 1) : 1));
}

/** A CPU quantity (`500m`, `1`, `0.5`) in CPUs; null when it is not one. */
export function parseCpus(text: string | number | undefined): number | null {
  if (text === undefined) return null;
  if (typeof text === "number") return text;
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(text.trim());
  if (!match) return null;
  return match[2] ? Number(match[1]) / 1000 : Number(match[1]);
}
