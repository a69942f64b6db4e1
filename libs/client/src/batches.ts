import type { BatchManifestLine, BatchResource } from '@chorus/contracts';
import { ChorusClient } from './chorus-client';

/**
 * Batches (`POST /v1/batches`, `GET /v1/batches/:id`, `GET /v1/batches/:id/manifest`; see docs/batches.md).
 * A batch file is CSV (header row of request fields) or JSONL (one request object per line); the
 * API checks every row before creating anything and answers a validation problem whose `errors`
 * carry the 1-based `row` with `field` and `message`.
 */
export type { BatchManifestLine, BatchResource };

export interface CreateBatchOptions {
  /** Sent as `Idempotency-Key`: submitting the same file again with it returns the same batch (24 h). */
  idempotencyKey?: string;
  /** Receives batch.completed / batch.canceled. */
  webhookUrl?: string;
  /** Default priority of rows that give none. */
  priority?: number;
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
    createBatch(content: string, format: BatchFileFormat, options?: CreateBatchOptions): Promise<BatchResource>;
    getBatch(id: string): Promise<BatchResource>;
    /** The manifest (one line per row: generation id, status, audio key) as the API serves it. */
    getBatchManifest(id: string): Promise<Blob>;
    /** The manifest's lines, parsed, in row order. */
    readBatchManifest(id: string): Promise<BatchManifestLine[]>;
    /** Cancels the rows that have not finished. */
    cancelBatch(id: string): Promise<BatchResource>;
  }
}

ChorusClient.prototype.createBatch = function createBatch(this: ChorusClient, content: string, format: BatchFileFormat, options: CreateBatchOptions = {}) {
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPES[format] };
  if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
  const params = new URLSearchParams();
  if (options.webhookUrl) params.set('webhook_url', options.webhookUrl);
  if (options.priority !== undefined) params.set('priority', String(options.priority));
  const search = params.size > 0 ? `?${params}` : '';
  return this['json']<BatchResource>('POST', `/v1/batches${search}`, { body: content, headers });
};

ChorusClient.prototype.readBatchManifest = async function readBatchManifest(this: ChorusClient, id: string) {
  const response = await this['request']('GET', `/v1/batches/${encodeURIComponent(id)}/manifest`, { headers: { accept: 'application/x-ndjson' } });
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as BatchManifestLine);
};

ChorusClient.prototype.cancelBatch = function cancelBatch(this: ChorusClient, id: string) {
  return this['json']<BatchResource>('POST', `/v1/batches/${encodeURIComponent(id)}/cancel`);
};

ChorusClient.prototype.getBatch = function getBatch(this: ChorusClient, id: string) {
  return this['json']<BatchResource>('GET', `/v1/batches/${encodeURIComponent(id)}`);
};

ChorusClient.prototype.getBatchManifest = async function getBatchManifest(this: ChorusClient, id: string) {
  const response = await this['request']('GET', `/v1/batches/${encodeURIComponent(id)}/manifest`, { headers: { accept: 'text/csv, application/x-ndjson, application/json' } });
  return response.blob();
};
