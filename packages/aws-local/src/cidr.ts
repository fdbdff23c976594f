/** IPv4 CIDR blocks as integer ranges, for the subnet checks EC2 makes. */
export interface CidrRange {
  first: number;
  last: number;
  prefix: number;
}

export function parseCidr(cidr: string): CidrRange | null {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (match === null) return null;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return null;
  const address = ((octets[0]! << 24) >>> 0) + (octets[1]! << 16) + (octets[2]! << 8) + octets[3]!;
  const size = 2 ** (32 - prefix);
  const first = address - (address % size);
  return { first, last: first + size - 1, prefix };
}

export function cidrContains(outer: CidrRange, inner: CidrRange): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

export function cidrOverlaps(a: CidrRange, b: CidrRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}
