import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { parse } from 'csv-parse';
import type { FieldError } from '@chorus/contracts';

/** One row of a batch as the client sent it, before validation; `row` counts from 1. */
export interface BatchRow {
  row: number;
  body: unknown;
}

export interface ParsedRows {
  rows: BatchRow[];
  /** Rows that could not even be read (bad JSON, broken CSV quoting). */
  errors: FieldError[];
}

/** Columns that hold numbers; a CSV cell is text, so these are converted before validation. */
const NUMERIC_COLUMNS = new Set(['seconds_start', 'seconds_total', 'steps', 'cfg_scale', 'seed', 'priority']);
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A CSV with a header row naming generation fields (`prompt,seconds_total,steps,…`). Empty cells
 * are absent fields (an empty prompt cell is an empty prompt, refused as such); numeric columns
 * become numbers when they look like one (otherwise the text goes to validation, which names the
 * field). Text is kept exactly, `=cmd()` included: it is
 * stored as a prompt, never evaluated, and escaped wherever a CSV is produced.
 */
export async function rowsFromCsv(text: string): Promise<ParsedRows> {
  const rows: BatchRow[] = [];
  const parser = parse({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: false });
  parser.on('readable', () => {
    for (let record: Record<string, string> | null; (record = parser.read()) !== null; ) {
      const body: Record<string, unknown> = {};
      for (const [column, cell] of Object.entries(record)) {
        const name = column.trim();
        // An empty prompt cell is an empty prompt ("must not be empty"), not a missing column.
        if (cell === '' && name !== 'prompt') continue;
        body[name] = NUMERIC_COLUMNS.has(name) && NUMBER.test(cell.trim()) ? Number(cell.trim()) : cell;
      }
      rows.push({ row: rows.length + 1, body });
    }
  });
  const finished = new Promise<void>((resolve, reject) => {
    parser.once('end', resolve);
    parser.once('error', reject);
  });
  finished.catch(() => undefined);
  try {
    // Fed a slice at a time with a turn of the event loop between, so 10,000 rows never block it for long.
    for (const slice of slices(text, TEXT_SLICE)) {
      if (parser.destroyed) break;
      parser.write(slice);
      await yieldToEventLoop();
    }
    parser.end();
    await finished;
  } catch (error) {
    const { lines, message } = error as { lines?: number; message: string };
    // csv-parse counts lines from 1 with the header as line 1.
    return { rows, errors: [{ row: lines ? Math.max(1, lines - 1) : rows.length + 1, field: 'csv', message: `cannot be read: ${message}` }] };
  }
  return { rows, errors: [] };
}

const TEXT_SLICE = 16 * 1024;

function* slices(text: string, size: number): Generator<string> {
  for (let start = 0; start < text.length; start += size) yield text.slice(start, start + size);
}

/** JSON Lines: one generation body per line; blank lines are skipped but still counted. */
export function rowsFromJsonl(text: string): ParsedRows {
  const rows: BatchRow[] = [];
  const errors: FieldError[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let row = 0;
  for (const line of lines) {
    if (line.trim() === '') continue;
    row += 1;
    try {
      rows.push({ row, body: JSON.parse(line) });
    } catch {
      errors.push({ row, field: 'line', message: 'is not valid JSON' });
    }
  }
  return { rows, errors };
}

/** `items` of a JSON batch body. */
export function rowsFromItems(items: unknown[]): ParsedRows {
  return { rows: items.map((body, i) => ({ row: i + 1, body })), errors: [] };
}
