/**
 * schema.prisma and prisma/migrations must describe the same database: the migrations are written
 * by hand (Prisma's schema engine cannot run here), so this test compares Prisma's own parse of the
 * schema (the DMMF that `npm run build:prisma` writes to libs/db/src/generated/dmmf.json) with the
 * catalog of a freshly migrated database: tables, columns (type, nullability, default), enums,
 * primary keys, unique and plain indexes (with sort order), and foreign keys (with their actions).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/database';

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object';
  type: string;
  isList: boolean;
  isRequired: boolean;
  hasDefaultValue: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  isUpdatedAt: boolean;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string; sortOrder?: 'asc' | 'desc' }[];
}
interface Dmmf {
  models: DmmfModel[];
  enums: { name: string; dbName?: string | null; values: { name: string; dbName?: string | null }[] }[];
  indexes: DmmfIndex[];
}

const DMMF_FILE = path.resolve(__dirname, '../../libs/db/src/generated/dmmf.json');

const db = useTestDatabase('drift');
let dmmf: Dmmf;
let client: Client;

beforeAll(async () => {
  if (!existsSync(DMMF_FILE)) throw new Error(`${DMMF_FILE} is missing: run npm run build:prisma`);
  dmmf = JSON.parse(readFileSync(DMMF_FILE, 'utf8')) as Dmmf;
  client = new Client({ connectionString: db.url });
  await client.connect();
});
afterAll(() => client?.end());

const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
const columnOf = (field: DmmfField) => field.dbName ?? field.name;
const modelByName = (name: string) => dmmf.models.find((model) => model.name === name)!;
const fieldOf = (model: DmmfModel, name: string) => model.fields.find((field) => field.name === name)!;
const enumDbName = (name: string) => {
  const found = dmmf.enums.find((candidate) => candidate.name === name)!;
  return found.dbName ?? found.name;
};

/** The Postgres type Prisma's migrations give a field, as format_type() prints it. */
function expectedType(field: DmmfField): string {
  if (field.kind === 'enum') return enumDbName(field.type);
  const [native, args = []] = field.nativeType ?? [];
  const withArgs = (base: string) => (args.length ? `${base}(${args.join(',')})` : base);
  switch (native) {
    case 'Uuid':
      return 'uuid';
    case 'Timestamptz':
      return withArgs('timestamp') + ' with time zone';
    case 'Timestamp':
      return withArgs('timestamp') + ' without time zone';
    case 'VarChar':
      return withArgs('character varying');
    case 'Text':
      return 'text';
    case undefined:
      break;
    default:
      throw new Error(`native type ${native} of ${field.name}: teach this test its Postgres name`);
  }
  const scalar: Record<string, string> = {
    String: 'text',
    Int: 'integer',
    BigInt: 'bigint',
    Float: 'double precision',
    Boolean: 'boolean',
    DateTime: 'timestamp(3) without time zone',
    Json: 'jsonb',
    Decimal: 'numeric(65,30)',
    Bytes: 'bytea',
  };
  const type = scalar[field.type];
  if (!type) throw new Error(`scalar ${field.type} of ${field.name}: teach this test its Postgres name`);
  return field.isList ? `${type}[]` : type;
}

/** The column default Prisma's migrations write, as pg_get_expr() prints it; null for none. */
function expectedDefault(field: DmmfField): string | null {
  if (!field.hasDefaultValue || field.default === undefined) return null;
  const value = field.default;
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const fn = value as { name: string; args: unknown[] };
    if (fn.name === 'now') return 'CURRENT_TIMESTAMP';
    if (fn.name === 'dbgenerated') return String(fn.args[0]);
    if (fn.name === 'autoincrement') return `nextval(…)`;
    // uuid(), cuid() and the like are filled in by the client, not the database.
    return null;
  }
  if (field.kind === 'enum') return `'${String(value)}'::${enumDbName(field.type)}`;
  if (typeof value === 'string') return `'${value}'::text`;
  return String(value);
}

function normalizeDefault(expression: string | null): string | null {
  if (expression === null) return null;
  return expression.startsWith('nextval(') ? 'nextval(…)' : expression;
}

describe('schema.prisma and the migrated database', () => {
  it('have the same tables', async () => {
    const { rows } = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
    );
    expect(rows.map((row) => row.table_name).sort()).toEqual(dmmf.models.map(tableOf).sort());
  });

  it('have the same columns, with the same types, nullability and defaults', async () => {
    const { rows } = await client.query<{ table: string; column: string; type: string; nullable: boolean; default: string | null }>(
      `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
              NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid AND c.relkind = 'r'
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname <> '_prisma_migrations'`,
    );
    const actual = rows
      .map((row) => ({ ...row, default: normalizeDefault(row.default) }))
      .sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
    const expected = dmmf.models
      .flatMap((model) =>
        model.fields
          .filter((field) => field.kind !== 'object')
          .map((field) => ({
            table: tableOf(model),
            column: columnOf(field),
            type: expectedType(field),
            nullable: !field.isRequired,
            default: expectedDefault(field),
          })),
      )
      .sort((a, b) => `${a.table}.${a.column}`.localeCompare(`${b.table}.${b.column}`));
    expect(actual).toEqual(expected);
  });

  it('have the same enums, with their values in order', async () => {
    const { rows } = await client.query<{ name: string; values: string[] }>(
      `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS values
         FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
         JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
        GROUP BY t.typname`,
    );
    const expected = dmmf.enums.map((e) => ({ name: e.dbName ?? e.name, values: e.values.map((v) => v.dbName ?? v.name) }));
    expect(rows.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
  });

  it('have the same primary keys, unique and plain indexes, column order and sort order included', async () => {
    const { rows } = await client.query<{ table: string; primary: boolean; unique: boolean; columns: string[] }>(
      `SELECT t.relname AS table, i.indisprimary AS primary, i.indisunique AS unique,
              array_agg(a.attname || CASE WHEN (i.indoption[k.ord - 1] & 1) = 1 THEN ' desc' ELSE '' END ORDER BY k.ord)::text[] AS columns
         FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
         CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE t.relname <> '_prisma_migrations'
        GROUP BY i.indexrelid, t.relname, i.indisprimary, i.indisunique`,
    );
    const signature = (table: string, kind: string, columns: string[]) => `${table} ${kind} (${columns.join(', ')})`;
    const actual = rows.map((row) => signature(row.table, row.primary ? 'primary' : row.unique ? 'unique' : 'index', row.columns)).sort();
    const expected = dmmf.indexes
      .map((index) => {
        const model = modelByName(index.model);
        const columns = index.fields.map((f) => columnOf(fieldOf(model, f.name)) + (f.sortOrder === 'desc' ? ' desc' : ''));
        const kind = index.type === 'id' ? 'primary' : index.type === 'unique' ? 'unique' : 'index';
        return signature(tableOf(model), kind, columns);
      })
      .sort();
    expect(actual).toEqual(expected);
  });

  it('have the same foreign keys, with the same delete and update actions', async () => {
    const { rows } = await client.query<{ signature: string }>(
      `SELECT src.relname || '(' || string_agg(sa.attname, ', ' ORDER BY k.ord) || ') -> ' ||
              dst.relname || '(' || string_agg(da.attname, ', ' ORDER BY k.ord) || ') on delete ' ||
              c.confdeltype::text || ' on update ' || c.confupdtype::text AS signature
         FROM pg_constraint c
         JOIN pg_class src ON src.oid = c.conrelid
         JOIN pg_class dst ON dst.oid = c.confrelid
         JOIN pg_namespace n ON n.oid = src.relnamespace AND n.nspname = 'public'
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(src_attnum, dst_attnum, ord)
         JOIN pg_attribute sa ON sa.attrelid = src.oid AND sa.attnum = k.src_attnum
         JOIN pg_attribute da ON da.attrelid = dst.oid AND da.attnum = k.dst_attnum
        WHERE c.contype = 'f'
        GROUP BY c.oid, src.relname, dst.relname, c.confdeltype, c.confupdtype`,
    );
    // pg_constraint's action codes.
    const action: Record<string, string> = { Cascade: 'c', Restrict: 'r', SetNull: 'n', SetDefault: 'd', NoAction: 'a' };
    const expected = dmmf.models.flatMap((model) =>
      model.fields
        .filter((field) => field.kind === 'object' && field.relationFromFields?.length)
        .map((field) => {
          const target = modelByName(field.type);
          const from = field.relationFromFields!.map((name) => columnOf(fieldOf(model, name)));
          const to = field.relationToFields!.map((name) => columnOf(fieldOf(target, name)));
          // Prisma's defaults: Restrict for a required relation, SetNull for an optional one; updates cascade.
          const required = field.relationFromFields!.every((name) => fieldOf(model, name).isRequired);
          const onDelete = field.relationOnDelete ?? (required ? 'Restrict' : 'SetNull');
          const onUpdate = field.relationOnUpdate ?? 'Cascade';
          return `${tableOf(model)}(${from.join(', ')}) -> ${tableOf(target)}(${to.join(', ')}) on delete ${action[onDelete]} on update ${action[onUpdate]}`;
        }),
    );
    expect(rows.map((row) => row.signature).sort()).toEqual(expected.sort());
  });
});
