import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrate, MigrationError, readMigrations } from '@chorus/db';
import { dropDatabase, testServerUrl } from '../support/database';

const created: string[] = [];
afterAll(async () => {
  for (const url of created) await dropDatabase(url);
});

/** A URL for a database that does not exist yet (dropped after the file). */
function newDatabaseUrl(label: string): string {
  const url = new URL(testServerUrl());
  url.pathname = `/chorus_test_migrate_${label}_${randomBytes(4).toString('hex')}`;
  created.push(url.toString());
  return url.toString();
}

async function query<T extends object>(databaseUrl: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
}

describe('migrate', () => {
  it('creates the missing database and applies every migration, recorded as Prisma records them', async () => {
    const url = newDatabaseUrl('fresh');
    const result = await migrate(url);
    const onDisk = (await readdir(MIGRATIONS_DIR, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    expect(result).toEqual({ createdDatabase: true, applied: onDisk });

    const rows = await query<MigrationRow>(url, 'SELECT * FROM "_prisma_migrations" ORDER BY migration_name');
    const migrations = await readMigrations();
    expect(rows.map((row) => row.migration_name)).toEqual(onDisk);
    for (const [i, row] of rows.entries()) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.checksum).toBe(createHash('sha256').update(migrations[i].sql).digest('hex'));
      expect(row).toMatchObject({ rolled_back_at: null, logs: null, applied_steps_count: 1 });
      expect(row.finished_at).toBeInstanceOf(Date);
    }
  });

  it("keeps Prisma's _prisma_migrations layout, so prisma migrate deploy reads our history", async () => {
    const url = newDatabaseUrl('layout');
    await migrate(url);
    const columns = await query<{ column_name: string; data_type: string; is_nullable: string; character_maximum_length: number | null }>(
      url,
      `SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', is_nullable: 'NO', character_maximum_length: 36 },
      { column_name: 'checksum', data_type: 'character varying', is_nullable: 'NO', character_maximum_length: 64 },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', is_nullable: 'YES', character_maximum_length: null },
      { column_name: 'migration_name', data_type: 'character varying', is_nullable: 'NO', character_maximum_length: 255 },
      { column_name: 'logs', data_type: 'text', is_nullable: 'YES', character_maximum_length: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', is_nullable: 'YES', character_maximum_length: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', is_nullable: 'NO', character_maximum_length: null },
      { column_name: 'applied_steps_count', data_type: 'integer', is_nullable: 'NO', character_maximum_length: null },
    ]);
  });

  it('applies nothing the second time', async () => {
    const url = newDatabaseUrl('again');
    await migrate(url);
    expect(await migrate(url)).toEqual({ createdDatabase: false, applied: [] });
  });

  it('applies each migration once when several processes migrate at the same moment', async () => {
    const url = newDatabaseUrl('race');
    const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
    const applied = results.flatMap((result) => result.applied);
    const onDisk = (await readMigrations()).map((m) => m.name);
    expect(applied.sort()).toEqual(onDisk.sort());
    const rows = await query<{ migration_name: string }>(url, 'SELECT migration_name FROM "_prisma_migrations"');
    expect(rows).toHaveLength(onDisk.length);
  });

  it('rolls a failing migration back, records why, names it, and applies it once fixed', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'chorus-migrations-'));
    try {
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      const broken = path.join(dir, '29991231000000_broken');
      await mkdir(broken);
      await writeFile(path.join(broken, 'migration.sql'), 'CREATE TABLE "half_done" (id int);\nSELECT no_such_function();\n');
      const url = newDatabaseUrl('broken');

      await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(MigrationError);
      await expect(migrate(url, { migrationsDir: dir })).rejects.toThrow(/29991231000000_broken/);
      const tables = await query<{ table_name: string }>(url, `SELECT table_name FROM information_schema.tables WHERE table_name = 'half_done'`);
      expect(tables).toEqual([]);
      const attempts = await query<MigrationRow>(url, `SELECT * FROM "_prisma_migrations" WHERE migration_name = '29991231000000_broken'`);
      expect(attempts.length).toBeGreaterThan(0);
      for (const attempt of attempts) {
        expect(attempt.finished_at).toBeNull();
        expect(attempt.rolled_back_at).toBeInstanceOf(Date);
        expect(attempt.logs).toMatch(/no_such_function/);
      }

      await writeFile(path.join(broken, 'migration.sql'), 'CREATE TABLE "half_done" (id int);\n');
      expect((await migrate(url, { migrationsDir: dir })).applied).toEqual(['29991231000000_broken']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
