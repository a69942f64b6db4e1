import { ChorusClient } from './chorus-client';

/**
 * Batches (`POST /v1/batches`, `GET /v1/batches/:id`, `GET /v1/batches/:id/manifest` in DESIGN.md).
 * A batch file is CSV (header row of request fields) or JSONL (one request object per line); the
 * API checks every row before creating anything and answers a validation problem whose `errors`
 * carry the 1-based `row` with `field` and `message`.
 */
export interface BatchResource {
  id: string;
  status: string;
  total: number;
  counts: { queued: number; running: number; succeeded: number; failed: number; canceled: number };
  created_at: string;
  finished_at: string | null;
}

export type BatchFileFormat = 'csv' | 'jsonl';

const CONTENT_TYPES: Record<BatchFileFormat, string> = { csv: 'text/csv', jsonl: 'application/x-ndjson' };

/** `csv` or `jsonl` from a file name; JSONL is also spelled `.ndjson`. */
export function batchFormatOf(fileName: string): BatchFileFormat | null {
  const extension = fileName.toLowerCase().split('.').pop();
  if (extension === 'csv') return 'csv';
  if (extension === 'jsonl' || extension === 'ndjson') return 'jsonl';
  return null;
}

declare module './chorus-client' {
  interface ChorusClient {
    /** Uploads a batch file's text; nothing is created unless every row is valid. */
    createBatch(content: string, format: BatchFileFormat): Promise<BatchResource>;
    getBatch(id: string): Promise<BatchResource>;
    /** The manifest (one line per row: generation id, status, audio key) as the API serves it. */
    getBatchManifest(id: string): Promise<Blob>;
  }
}

ChorusClient.prototype.createBatch = function createBatch(this: ChorusClient, content: string, format: BatchFileFormat) {
  return this['json']<BatchResource>('POST', '/v1/batches', { body: content, headers: { 'content-type': CONTENT_TYPES[format] } });
};

ChorusClient.prototype.getBatch = function getBatch(this: ChorusClient, id: string) {
  return this['json']<BatchResource>('GET', `/v1/batches/${encodeURIComponent(id)}`);
};

ChorusClient.prototype.getBatchManifest = async function getBatchManifest(this: ChorusClient, id: string) {
  const response = await this['request']('GET', `/v1/batches/${encodeURIComponent(id)}/manifest`, { headers: { accept: 'text/csv, application/x-ndjson, application/json' } });
  return response.blob();
};
