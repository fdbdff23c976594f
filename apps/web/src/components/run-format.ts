/** How long a run took (or has been taking): "45 s", "3 min 5 s", "2 h 4 min", "1 d 3 h"; "—" before it started. */
export function formatDuration(startIso: string | null | undefined, endIso: string | null | undefined, now: number = Date.now()): string {
  if (!startIso) return "—";
  const start = Date.parse(startIso);
  const end = endIso ? Date.parse(endIso) : now;
  if (Number.isNaN(start) || Number.isNaN(end)) return "—";
  return formatSeconds(Math.max(0, (end - start) / 1000));
}

export function formatSeconds(total: number): string {
  if (total < 10) return `${Math.round(total * 10) / 10} s`;
  const s = Math.round(total);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}
