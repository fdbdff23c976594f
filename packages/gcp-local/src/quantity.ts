const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** A Kubernetes memory quantity (`512Mi`, `1Gi`, `2G`, `1000000`) in whole MiB; null when it is not one. */
export function memoryMib(quantity: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(quantity.trim());
  if (match === null) return null;
  const bytes = Number(match[1]) * (BINARY[match[2]!] ?? DECIMAL[match[2]!]!);
  return Math.max(1, Math.ceil(bytes / 2 ** 20));
}
