import type { SqlExecutor } from "./driver.js";

/**
 * What PostgreSQL's autovacuum does, for PGlite, which has none: without `ANALYZE` the planner never
 * learns how many runs there are or how their states spread, and a filtered list of 100k runs is planned
 * as if the table were tiny. A pass reads each table's counters and, with autovacuum's default
 * thresholds, analyses the tables that changed much since their last statistics (or never had any) and
 * vacuums those with many dead rows. PGlite has one connection: a pass holds every other query for its
 * duration, so the server runs one only every few minutes (and once after migrating).
 */
export interface TableActivity {
  table: string;
  /** pg_class.reltuples: -1 when the table was never analysed or vacuumed. */
  tuples: number;
  modifiedSinceAnalyze: number;
  deadTuples: number;
}

export interface MaintenancePlan {
  analyze: string[];
  /** Vacuumed with ANALYZE: these are not listed in `analyze` too. */
  vacuum: string[];
}

/**
 * autovacuum's defaults: analyze_threshold 50 + 10 % of the rows, vacuum_threshold 50 + 20 %.
 * `missingOnly`: only the tables that never had statistics (what opening a store does, so a start is
 * not held by a VACUUM).
 */
export function planMaintenance(tables: readonly TableActivity[], options: { missingOnly?: boolean } = {}): MaintenancePlan {
  const plan: MaintenancePlan = { analyze: [], vacuum: [] };
  for (const t of tables) {
    if (options.missingOnly) {
      if (t.tuples < 0) plan.analyze.push(t.table);
      continue;
    }
    const rows = Math.max(t.tuples, 0);
    if (t.deadTuples > 50 + 0.2 * rows) plan.vacuum.push(t.table);
    else if (t.tuples < 0 || t.modifiedSinceAnalyze > 50 + 0.1 * rows) plan.analyze.push(t.table);
  }
  return plan;
}

export async function readTableActivity(db: SqlExecutor): Promise<TableActivity[]> {
  // PGlite flushes its statistics counters lazily: without this the counters read as zero.
  await db.query("SELECT pg_stat_force_next_flush()");
  const { rows } = await db.query<TableActivity>(
    `SELECT s.relname AS "table", c.reltuples::float8 AS tuples, s.n_mod_since_analyze::float8 AS "modifiedSinceAnalyze",
            s.n_dead_tup::float8 AS "deadTuples"
     FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
     WHERE s.schemaname = current_schema() ORDER BY s.relname`,
  );
  return rows;
}

/** Runs the plan, table by table (each statement outside a transaction, as VACUUM requires). */
export async function runMaintenance(db: SqlExecutor, plan: MaintenancePlan): Promise<void> {
  for (const table of plan.vacuum) await db.exec(`VACUUM (ANALYZE) ${quoteIdent(table)}`);
  for (const table of plan.analyze) await db.exec(`ANALYZE ${quoteIdent(table)}`);
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
