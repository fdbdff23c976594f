import { FerryError } from "@ferry/core";

/**
 * IPv4 CIDR arithmetic for choosing the network of a new VPC. Pure: the caller passes the CIDRs of the
 * account's existing VPCs.
 */

interface Range {
  start: number;
  end: number;
}

export function parseCidr(cidr: string): Range {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) throw new Error(`'${cidr}' is not an IPv4 CIDR block`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new Error(`'${cidr}' is not an IPv4 CIDR block`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  const start = Math.floor(address / size) * size;
  return { start, end: start + size - 1 };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return x.start <= y.end && y.start <= x.end;
}

function format(address: number, prefix: number): string {
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefix}`;
}

/**
 * The /16 blocks a new VPC may take, most familiar first: the default VPC's own 172.31/16 (free when
 * there is no default VPC), then 10.0/16 to 10.255/16, the rest of 172.16/12, and 192.168/16.
 */
export function vpcCidrCandidates(): string[] {
  const out = ["172.31.0.0/16"];
  for (let i = 0; i < 256; i++) out.push(`10.${i}.0.0/16`);
  for (let i = 16; i < 31; i++) out.push(`172.${i}.0.0/16`);
  out.push("192.168.0.0/16");
  return out;
}

/** The first candidate /16 that overlaps none of `existing` (IPv4 CIDRs of every VPC in the region). */
export function chooseVpcCidr(existing: readonly string[]): string {
  const ranges = existing.filter((c) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c));
  const found = vpcCidrCandidates().find((candidate) => !ranges.some((r) => cidrsOverlap(candidate, r)));
  if (!found) {
    throw new FerryError("provider_quota", "every private /16 block overlaps an existing VPC; name an existing VPC to reuse with the vpc_name option, or delete unused VPCs");
  }
  return found;
}

/** `count` consecutive /20 subnets at the start of a /16 (4,091 addresses each, room for 16). */
export function subnetCidrs(vpcCidr: string, count: number): string[] {
  const { start, end } = parseCidr(vpcCidr);
  const size = 2 ** 12;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = start + i * size;
    if (s + size - 1 > end) throw new Error(`${vpcCidr} has no room for ${count} /20 subnets`);
    out.push(format(s, 20));
  }
  return out;
}
