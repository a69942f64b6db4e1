import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { GENERATION_STATUSES } from '@chorus/contracts';
import type { GenerationResource as Generation } from '@chorus/contracts';
import { ErrorMessage } from '../components/ErrorMessage';
import { Field } from '../components/Field';
import { GenerationPanel, progressFraction, secondsLabel } from '../components/GenerationPanel';
import { StatusBadge } from '../components/StatusBadge';
import { WaveformPlayer, type PlayerControls } from '../components/WaveformPlayer';
import { describeError } from '../errors';
import { navigate, useLocation } from '../router';
import { useClient } from '../session';
import { isTerminal } from '../use-generation';

const PAGE_SIZES = [10, 20, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 20;

interface Filters {
  status: string;
  prompt: string;
  batch: string;
}

export function HistoryPage() {
  const client = useClient();
  const { query } = useLocation();
  const filters: Filters = { status: query.get('status') ?? '', prompt: query.get('prompt') ?? '', batch: query.get('batch') ?? '' };
  const [pageSize, setPageSize] = useState<number>(DEFAULT_PAGE_SIZE);
  const [draftFilters, setDraftFilters] = useState<Filters>(filters);
  // Cursor pagination: the stack holds the cursor of each page visited, so "Previous" works.
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<{ items: Generation[]; next: string | null } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [selected, setSelected] = useState<Generation[]>([]);
  const [expanded, setExpanded] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];
  const filterKey = `${filters.status}|${filters.prompt}|${filters.batch}`;

  const load = useCallback(
    async (signal?: AbortSignal) => {
      try {
        const result = await client.listGenerations({
          limit: pageSize,
          cursor,
          status: filters.status || undefined,
          q: filters.prompt || undefined,
          batch_id: filters.batch || undefined,
        });
        if (signal?.aborted) return;
        setPage({ items: result.data, next: result.next_cursor ?? null });
        setError(null);
      } catch (caught) {
        if (!signal?.aborted) setError(describeError(caught).message);
      }
    },
    // filterKey stands for the three filter values: a new object each render, equal by value.
    [client, cursor, filterKey, pageSize],
  );

  useEffect(() => {
    const abort = new AbortController();
    void load(abort.signal);
    return () => abort.abort();
  }, [load]);

  // While anything on the page is still running, refresh it so statuses and progress move.
  const active = page?.items.some((generation) => !isTerminal(generation.status)) ?? false;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [active, load]);

  const applyFilters = (event: FormEvent) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (draftFilters.status) params.set('status', draftFilters.status);
    if (draftFilters.prompt.trim()) params.set('prompt', draftFilters.prompt.trim());
    if (draftFilters.batch.trim()) params.set('batch', draftFilters.batch.trim());
    setCursors([undefined]);
    navigate(`/history${params.size ? `?${params}` : ''}`, { replace: true });
  };

  const toggleSelected = (generation: Generation) =>
    setSelected((current) =>
      current.some((item) => item.id === generation.id) ? current.filter((item) => item.id !== generation.id) : [...current, generation].slice(-2),
    );

  const cancel = async (generation: Generation) => {
    setRowErrors(({ [generation.id]: _cleared, ...rest }) => rest);
    try {
      await client.cancelGeneration(generation.id);
      await load();
    } catch (caught) {
      setRowErrors((current) => ({ ...current, [generation.id]: describeError(caught).message }));
    }
  };

  return (
    <section aria-labelledby="history-heading">
      <h1 id="history-heading" tabIndex={-1}>
        History
      </h1>
      <form className="filters" onSubmit={applyFilters} aria-label="Filter generations">
        <Field label="Status">
          <select name="status" value={draftFilters.status} onChange={(event) => setDraftFilters({ ...draftFilters, status: event.target.value })}>
            <option value="">any</option>
            {GENERATION_STATUSES.map((status) => (
              <option key={status} value={status}>
                {status}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Prompt contains">
          <input name="prompt" type="search" value={draftFilters.prompt} onChange={(event) => setDraftFilters({ ...draftFilters, prompt: event.target.value })} />
        </Field>
        <Field label="Batch ID">
          <input name="batch" type="text" spellCheck={false} value={draftFilters.batch} onChange={(event) => setDraftFilters({ ...draftFilters, batch: event.target.value })} />
        </Field>
        <button type="submit">Apply filters</button>
      </form>

      <ErrorMessage message={error} />

      {selected.length === 2 ? (
        <Comparison pair={[selected[0]!, selected[1]!]} onClose={() => setSelected([])} />
      ) : (
        <p className="hint" aria-live="polite">
          Select two finished generations to compare them. {selected.length === 1 && 'One selected.'}
        </p>
      )}

      {page && page.items.length === 0 && <p>No generations match.</p>}
      {page && page.items.length > 0 && (
        <ul className="history-list">
          {page.items.map((generation) => {
            const isSelected = selected.some((item) => item.id === generation.id);
            return (
              <li key={generation.id} data-generation-id={generation.id}>
                <div className="history-row">
                  <input
                    type="checkbox"
                    id={`select-${generation.id}`}
                    checked={isSelected}
                    disabled={generation.status !== 'succeeded'}
                    onChange={() => toggleSelected(generation)}
                  />
                  <label htmlFor={`select-${generation.id}`} className="prompt">
                    <span className="visually-hidden">Select for comparison: </span>
                    {generation.prompt}
                  </label>
                  <StatusBadge status={generation.status} />
                  {/* Queued: the badge says so; a bar appears once a worker is sampling. */}
                  {!isTerminal(generation.status) && generation.status !== 'queued' && (
                    <progress max={1} value={progressFraction(generation.progress)} aria-label={`Progress of “${generation.prompt}”`} />
                  )}
                  <span className="meta">
                    {secondsLabel(generation.seconds_total)} s · {new Date(generation.created_at).toLocaleString()}
                  </span>
                  <span className="actions">
                    <button
                      type="button"
                      className="secondary"
                      aria-expanded={expanded === generation.id}
                      aria-controls={`details-${generation.id}`}
                      onClick={() => setExpanded(expanded === generation.id ? null : generation.id)}
                    >
                      {expanded === generation.id ? 'Hide' : 'Show'}
                      <span className="visually-hidden"> “{generation.prompt}”</span>
                    </button>
                    {!isTerminal(generation.status) && (
                      <button type="button" className="danger" onClick={() => void cancel(generation)}>
                        Cancel<span className="visually-hidden"> “{generation.prompt}”</span>
                      </button>
                    )}
                  </span>
                </div>
                <ErrorMessage message={rowErrors[generation.id]} />
                {expanded === generation.id && (
                  <div id={`details-${generation.id}`}>
                    <GenerationPanel id={generation.id} initial={generation} />
                  </div>
                )}
              </li>
            );
          })}
        </ul>
      )}

      <nav className="pager" aria-label="Pages">
        <button type="button" className="secondary" disabled={cursors.length <= 1} onClick={() => setCursors((current) => current.slice(0, -1))}>
          Previous page
        </button>
        <span>Page {cursors.length}</span>
        <label htmlFor="page-size">Per page</label>
        <select
          id="page-size"
          value={pageSize}
          onChange={(event) => {
            setPageSize(Number(event.target.value));
            setCursors([undefined]);
          }}
        >
          {PAGE_SIZES.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
        <button type="button" className="secondary" disabled={!page?.next} onClick={() => page?.next && setCursors((current) => [...current, page.next!])}>
          Next page
        </button>
      </nav>
    </section>
  );
}

/** Two finished generations side by side, each with its own player, or played one after the other. */
function Comparison({ pair, onClose }: { pair: [Generation, Generation]; onClose(): void }) {
  const first = useRef<PlayerControls | null>(null);
  const second = useRef<PlayerControls | null>(null);
  const [inTurn, setInTurn] = useState(false);

  const playInTurn = async () => {
    second.current?.pause();
    setInTurn(true);
    await first.current?.play();
  };
  const playTogether = async () => {
    setInTurn(false);
    await Promise.all([first.current?.play(), second.current?.play()]);
  };
  const stop = () => {
    setInTurn(false);
    first.current?.pause();
    second.current?.pause();
  };

  return (
    <section className="comparison" aria-labelledby="comparison-heading">
      <header>
        <h2 id="comparison-heading">Compare</h2>
        <button type="button" onClick={() => void playInTurn()}>
          Play in turn (A, then B)
        </button>
        <button type="button" onClick={() => void playTogether()}>
          Play together
        </button>
        <button type="button" className="secondary" onClick={stop}>
          Stop
        </button>
        <button type="button" className="secondary" onClick={onClose}>
          Clear selection
        </button>
      </header>
      <div className="side-by-side">
        {pair.map((generation, index) => (
          <div key={generation.id}>
            <h3>
              {index === 0 ? 'A' : 'B'}: {generation.prompt}
            </h3>
            <WaveformPlayer
              generation={generation}
              label={`${index === 0 ? 'A' : 'B'}, “${generation.prompt}”`}
              showSpectrogram={false}
              controlsRef={index === 0 ? first : second}
              onFinish={
                index === 0
                  ? () => {
                      if (inTurn) void second.current?.play();
                    }
                  : () => setInTurn(false)
              }
            />
          </div>
        ))}
      </div>
    </section>
  );
}
