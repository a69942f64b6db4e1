/** The multipart field that carries a batch file. */
export const BATCH_FILE_FIELD = 'file';
export const CSV_TYPES = ['text/csv', 'application/csv'] as const;
export const JSONL_TYPES = ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines'] as const;
/** Upper bound for a multipart batch file; BATCH_BODY_LIMIT bounds raw bodies. */
export const BATCH_UPLOAD_LIMIT_BYTES = 64 * 1024 * 1024;
