import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { batchFormatOf, type BatchResource as Batch } from '@chorus/client';
import { ErrorMessage } from '../components/ErrorMessage';
import { StatusBadge } from '../components/StatusBadge';
import { describeError, type RowError } from '../errors';
import { Link } from '../router';
import { useClient } from '../session';

// There is no "list batches" route, so the page remembers the batches uploaded in this tab.
const BATCHES_STORAGE = 'chorus.batches';

function rememberedBatches(): string[] {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(BATCHES_STORAGE) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}

export function BatchesPage() {
  const client = useClient();
  const fileInput = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<RowError[]>([]);
  const [batchIds, setBatchIds] = useState<string[]>(rememberedBatches);
  const errorId = useId();

  useEffect(() => sessionStorage.setItem(BATCHES_STORAGE, JSON.stringify(batchIds)), [batchIds]);

  const upload = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    setRowErrors([]);
    if (!file) {
      setError('Choose a CSV or JSONL file first.');
      return;
    }
    setUploading(true);
    try {
      const format = batchFormatOf(file.name);
      if (!format) {
        setError(`${file.name} is neither .csv nor .jsonl; choose a CSV or JSONL file.`);
        return;
      }
      const batch = await client.createBatch(await file.text(), format);
      setBatchIds((current) => [batch.id, ...current.filter((id) => id !== batch.id)]);
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
    } catch (caught) {
      const readable = describeError(caught);
      setRowErrors(readable.rows);
      setError(readable.rows.length > 0 ? `${file.name} was not accepted: nothing was created. Fix these rows and upload it again.` : readable.message);
    } finally {
      setUploading(false);
    }
  };

  return (
    <section aria-labelledby="batches-heading">
      <h1 id="batches-heading" tabIndex={-1}>
        Batches
      </h1>
      <p>
        Upload a CSV (a header row with <code>prompt</code> and any other request fields such as <code>seconds_total</code>, <code>seed</code>) or
        JSONL (one request object per line). Every row is checked before anything is queued.
      </p>
      <form className="upload-form" onSubmit={upload} noValidate>
        <div className="field">
          <label htmlFor="batch-file">CSV or JSONL file</label>
          <input
            ref={fileInput}
            id="batch-file"
            name="file"
            type="file"
            accept=".csv,.jsonl,.ndjson,text/csv,application/x-ndjson,application/jsonl"
            onChange={(event) => setFile(event.target.files?.[0] ?? null)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
          />
        </div>
        <button type="submit" disabled={uploading}>
          {uploading ? 'Uploading…' : 'Upload batch'}
        </button>
        <ErrorMessage id={errorId} message={error} />
        {rowErrors.length > 0 && (
          <table className="row-errors">
            <caption>Row errors (rows count from 1; a CSV's header line is not counted)</caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Field</th>
                <th scope="col">Problem</th>
              </tr>
            </thead>
            <tbody>
              {rowErrors.map((rowError, index) => (
                <tr key={index}>
                  <td>{rowError.row}</td>
                  <td>{rowError.field ? <code>{rowError.field}</code> : '—'}</td>
                  <td>{rowError.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </form>

      <h2>Uploaded in this session</h2>
      {batchIds.length === 0 ? <p>None yet.</p> : (
        <ul className="batch-list">
          {batchIds.map((id) => (
            <BatchRow key={id} id={id} />
          ))}
        </ul>
      )}
    </section>
  );
}

function BatchRow({ id }: { id: string }) {
  const client = useClient();
  const [batch, setBatch] = useState<Batch | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const progressId = useId();

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const current = await client.getBatch(id);
        if (abort.signal.aborted) return;
        setBatch(current);
        setError(null);
        if (batchDone(current)) return;
      } catch (caught) {
        if (abort.signal.aborted) return;
        setError(describeError(caught).message);
      }
      timer = setTimeout(() => void poll(), 2000);
    };
    void poll();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [client, id]);

  const downloadManifest = async () => {
    setDownloadError(null);
    try {
      const blob = await client.getBatchManifest(id);
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `batch-${id}-manifest${blob.type.includes('csv') ? '.csv' : '.jsonl'}`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (caught) {
      setDownloadError(describeError(caught).message);
    }
  };

  const done = batch ? finishedCount(batch) : 0;
  return (
    <li className="batch" data-batch-id={id}>
      <div className="batch-row">
        <span className="batch-id">
          Batch <code>{id}</code>
        </span>
        {batch && <StatusBadge status={batch.status} />}
        {batch && (
          <>
            <label htmlFor={progressId} className="visually-hidden">
              Progress of batch {id}
            </label>
            <progress id={progressId} max={batch.total || 1} value={done} />
            <span>
              {done} / {batch.total} finished
              {batch.counts.failed ? `, ${batch.counts.failed} failed` : ''}
              {batch.counts.canceled ? `, ${batch.counts.canceled} canceled` : ''}
            </span>
          </>
        )}
        <button type="button" className="secondary" onClick={() => void downloadManifest()}>
          Download manifest<span className="visually-hidden"> of batch {id}</span>
        </button>
        <Link to={`/history?batch=${encodeURIComponent(id)}`}>
          Show in history<span className="visually-hidden"> batch {id}</span>
        </Link>
      </div>
      <ErrorMessage message={error} />
      <ErrorMessage message={downloadError} />
    </li>
  );
}

const finishedCount = (batch: Batch) => batch.counts.succeeded + batch.counts.failed + batch.counts.canceled;
const batchDone = (batch: Batch) => batch.status === 'completed' || batch.status === 'canceled';
