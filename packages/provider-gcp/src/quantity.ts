import { FerryError } from "@ferry/core";

/**
 * Kubernetes resource quantities, as Cloud Run reads `cpu` and `memory` limits: a decimal number with an
 * optional binary (Ki, Mi, Gi, Ti) or decimal (m, k, M, G, T) suffix. Exponent forms (`1e3`) are valid
 * Kubernetes but Cloud Run's console never writes them; they are accepted too.
 */
const QUANTITY = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E))?$/;

const FACTORS: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity in base units (bytes, cores), or null when `text` is not one. */
export function parseQuantity(text: string): number | null {
  const m = QUANTITY.exec(text.trim());
  if (!m) return null;
  const value = Number(m[1]);
  if (m[2]) return value * 10 ** Number(m[2].slice(1));
  return value * FACTORS[m[3] ?? ""]!;
}

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/** Cloud Run jobs: memory from 512 MiB to 32 GiB; above 4, 8, 16 and 24 GiB it needs 2, 4, 6 and 8 CPUs. */
export const MEMORY_LIMITS = { min: 512 * MiB, max: 32 * GiB } as const;
/** Cloud Run jobs take 1 to 8 CPUs. */
export const CPU_LIMITS = { min: 1, max: 8 } as const;
const CPU_FOR_MEMORY: ReadonlyArray<{ above: number; cpus: number }> = [
  { above: 24 * GiB, cpus: 8 },
  { above: 16 * GiB, cpus: 6 },
  { above: 8 * GiB, cpus: 4 },
  { above: 4 * GiB, cpus: 2 },
];

const invalid = (message: string) => new FerryError("validation_failed", message, { retryable: false });

/**
 * Checks the `cpu` and `memory` job variables against what Cloud Run accepts for a job, before anything
 * is sent, so a run is refused with the fix instead of Cloud Run's INVALID_ARGUMENT after a CreateJob.
 */
export function checkResources(cpu: string, memory: string): { cpus: number; memoryBytes: number } {
  const memoryBytes = parseQuantity(memory);
  if (memoryBytes === null) {
    throw invalid(`the memory job variable '${memory}' is not a Kubernetes quantity: write it like '512Mi' or '2Gi'`);
  }
  if (memoryBytes < MEMORY_LIMITS.min || memoryBytes > MEMORY_LIMITS.max) {
    throw invalid(`the memory job variable '${memory}' is outside Cloud Run's limits for jobs: give between '512Mi' and '32Gi'`);
  }
  const cpus = parseQuantity(cpu);
  if (cpus === null) throw invalid(`the cpu job variable '${cpu}' is not a Kubernetes quantity: write it like '1000m' or '2'`);
  if (cpus < CPU_LIMITS.min || cpus > CPU_LIMITS.max) {
    throw invalid(`the cpu job variable '${cpu}' is outside Cloud Run's limits for jobs: give between '1000m' (1 CPU) and '8'`);
  }
  const needed = CPU_FOR_MEMORY.find((rule) => memoryBytes > rule.above);
  if (needed && cpus < needed.cpus) {
    throw invalid(`Cloud Run needs at least ${needed.cpus} CPUs for memory '${memory}': set the cpu job variable to '${needed.cpus}' or lower the memory`);
  }
  return { cpus, memoryBytes };
}
