import { isUuid, LIMITS, type ListTotal, type PageRequest, type SecretRecord, type VariableRecord } from "@ferry/core";
import type { SqlExecutor } from "./driver.js";
import { listTotal } from "./list-queries.js";

/**
 * The variables-and-secrets aggregate of the store: a workspace's named values, plain (variables) or
 * as the server's ciphertext (secrets). Both tables have the same shape, so one set of functions serves
 * both, over an executor that `SqlStoreTx` delegates to.
 */

const TABLES = {
  variables: { table: "variables", column: "value" },
  secrets: { table: "secrets", column: "ciphertext" },
} as const;
type Kind = keyof typeof TABLES;
type RecordOf<K extends Kind> = K extends "variables" ? VariableRecord : SecretRecord;

interface Row {
  workspace_id: string;
  name: string;
  body: string;
  created_at: Date;
  updated_at: Date;
}
const NONE: ListTotal = { total: 0, total_is_estimate: false };

function toRecord<K extends Kind>(kind: K, r: Row): RecordOf<K> {
  const base = { workspace_id: r.workspace_id, name: r.name, created_at: r.created_at.toISOString(), updated_at: r.updated_at.toISOString() };
  return (kind === "variables" ? { ...base, value: r.body } : { ...base, ciphertext: r.body }) as RecordOf<K>;
}

function columns(kind: Kind): string {
  return `workspace_id, name, ${TABLES[kind].column} AS body, created_at, updated_at`;
}

/** Sets a value (made, or replaced keeping its created_at). */
export async function putNamedValue<K extends Kind>(db: SqlExecutor, kind: K, workspaceId: string, name: string, body: string): Promise<RecordOf<K>> {
  const { table, column } = TABLES[kind];
  const { rows } = await db.query<Row>(
    `INSERT INTO ${table} (workspace_id, name, ${column}) VALUES ($1, $2, $3)
     ON CONFLICT (workspace_id, name) DO UPDATE SET ${column} = excluded.${column}, updated_at = now()
     RETURNING ${columns(kind)}`,
    [workspaceId, name, body],
  );
  return toRecord(kind, rows[0]!);
}

export async function getNamedValues<K extends Kind>(db: SqlExecutor, kind: K, workspaceId: string, names: readonly string[]): Promise<RecordOf<K>[]> {
  if (!isUuid(workspaceId) || names.length === 0) return [];
  const { rows } = await db.query<Row>(
    `SELECT ${columns(kind)} FROM ${TABLES[kind].table} WHERE workspace_id = $1 AND name = ANY($2::text[]) ORDER BY name`,
    [workspaceId, [...names]],
  );
  return rows.map((r) => toRecord(kind, r));
}

export async function listNamedValues<K extends Kind>(db: SqlExecutor, kind: K, workspaceId: string, page?: PageRequest<string>): Promise<RecordOf<K>[]> {
  if (!isUuid(workspaceId)) return [];
  const values: unknown[] = [workspaceId];
  let sql = `SELECT ${columns(kind)} FROM ${TABLES[kind].table} WHERE workspace_id = $1`;
  if (page?.after !== undefined) {
    values.push(page.after);
    sql += ` AND name > $${values.length}`;
  }
  sql += " ORDER BY name";
  if (page) {
    values.push(Math.max(1, Math.min(page.limit, LIMITS.pageItems + 1)));
    sql += ` LIMIT $${values.length}`;
  }
  const { rows } = await db.query<Row>(sql, values);
  return rows.map((r) => toRecord(kind, r));
}

export function totalNamedValues(db: SqlExecutor, kind: Kind, workspaceId: string): Promise<ListTotal> {
  if (!isUuid(workspaceId)) return Promise.resolve(NONE);
  return listTotal(db, { from: TABLES[kind].table, where: ["workspace_id = $1"], values: [workspaceId] });
}

export async function deleteNamedValue(db: SqlExecutor, kind: Kind, workspaceId: string, name: string): Promise<boolean> {
  if (!isUuid(workspaceId)) return false;
  const { rowCount } = await db.query(`DELETE FROM ${TABLES[kind].table} WHERE workspace_id = $1 AND name = $2`, [workspaceId, name]);
  return rowCount > 0;
}
