import { useEffect, useState } from 'react';
import type { FarmStats, QueueDepth } from '@chorus/contracts';
import { ErrorMessage } from '../components/ErrorMessage';
import { TimeSeriesChart } from '../components/TimeSeriesChart';
import { describeError } from '../errors';
import { useClient } from '../session';

const REFRESH_MS = 5000;

const QUEUE_STATES: Array<{ key: keyof QueueDepth; label: string }> = [
  { key: 'waiting', label: 'Waiting' },
  { key: 'prioritized', label: 'Prioritized' },
  { key: 'delayed', label: 'Delayed (retry backoff)' },
  { key: 'active', label: 'Active' },
  { key: 'failed', label: 'Failed or canceled, kept' },
];

export function FarmPage() {
  const client = useClient();
  const [stats, setStats] = useState<FarmStats | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = async () => {
      try {
        const next = await client.getStats();
        if (stopped) return;
        setStats(next);
        setError(null);
      } catch (caught) {
        if (!stopped) setError(`The farm's statistics could not be loaded: ${describeError(caught).message}`);
      }
      if (!stopped) timer = setTimeout(() => void refresh(), REFRESH_MS);
    };
    void refresh();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client]);

  const times = stats?.buckets.map((bucket) => new Date(bucket.start)) ?? [];
  const perMinute = stats ? 60 / stats.window.bucket_seconds : 1;
  // Null in a tenant's view: the queue and the workers are farm-wide, an operator's to see.
  const queue = stats?.queue;
  const workers = stats?.workers;
  const liveWorkers = workers?.filter((worker) => worker.live).length ?? 0;
  const farmWide = stats?.scope === 'farm';

  return (
    <section aria-labelledby="farm-heading">
      <h1 id="farm-heading" tabIndex={-1}>
        Farm
      </h1>
      <ErrorMessage message={error} />
      {!stats && !error && <p role="status">Loading the farm's statistics…</p>}
      {stats && (
        <>
          <p className="hint">
            Updated {new Date(stats.generated_at).toLocaleTimeString()}; refreshes every {REFRESH_MS / 1000} s.
          </p>
          {!farmWide && (
            <p className="hint" role="note">
              Your own generations. The shared queue, the workers and every tenant's numbers show with an operator's API key.
            </p>
          )}
          <section aria-labelledby="queue-heading">
            <h2 id="queue-heading">Queue</h2>
            <h3 id="record-heading">{farmWide ? 'Generations' : 'Your generations'} (Postgres, the record)</h3>
            <dl className="tiles" aria-labelledby="record-heading">
              <div>
                <dt>Queued</dt>
                <dd>{stats.generations.queued}</dd>
              </div>
              <div>
                <dt>Running</dt>
                <dd>{stats.generations.running}</dd>
              </div>
            </dl>
            {queue && (
              <>
                <h3 id="jobs-heading">Jobs (BullMQ on Redis)</h3>
                <dl className="tiles" aria-labelledby="jobs-heading">
                  {QUEUE_STATES.map((state) => (
                    <div key={state.key}>
                      <dt>{state.label}</dt>
                      <dd>{queue[state.key]}</dd>
                    </div>
                  ))}
                </dl>
              </>
            )}
          </section>

          {workers && (
            <section aria-labelledby="workers-heading">
              <h2 id="workers-heading">
                Workers <span className="count">({liveWorkers} live)</span>
              </h2>
              {workers.length === 0 ? (
                <p>No worker has sent a heartbeat in the last hour.</p>
              ) : (
                // A wide table scrolls inside its own box on a narrow screen, never the page sideways.
                <div className="table-scroll" role="region" aria-labelledby="workers-heading" tabIndex={0}>
                  <table className="workers">
                    <thead>
                      <tr>
                        <th scope="col">Worker</th>
                        <th scope="col">State</th>
                        <th scope="col">Host</th>
                        <th scope="col">Device</th>
                        <th scope="col">Model</th>
                        <th scope="col">Current job</th>
                        <th scope="col">Last heartbeat</th>
                      </tr>
                    </thead>
                    <tbody>
                      {workers.map((worker) => (
                        <tr key={worker.id} data-live={worker.live}>
                          <th scope="row">
                            <code>{worker.id}</code>
                          </th>
                          <td>
                            <span className={`badge ${worker.live ? 'status-succeeded' : 'status-failed'}`}>{worker.live ? 'live' : 'silent'}</span>
                          </td>
                          <td>{worker.host}</td>
                          <td>{worker.device}</td>
                          <td>{worker.model}</td>
                          <td>{worker.current_generation_id ? <code>{worker.current_generation_id}</code> : 'idle'}</td>
                          <td>
                            <time dateTime={worker.last_heartbeat_at}>{secondsAgo(stats.generated_at, worker.last_heartbeat_at)}</time>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
          )}

          <section aria-labelledby="hour-heading">
            <h2 id="hour-heading">Last hour</h2>
            <dl className="tiles">
              <div>
                <dt>Succeeded</dt>
                <dd>{stats.last_hour.succeeded}</dd>
              </div>
              <div>
                <dt>Failed</dt>
                <dd>{stats.last_hour.failed}</dd>
              </div>
              <div>
                <dt>Canceled</dt>
                <dd>{stats.last_hour.canceled}</dd>
              </div>
              <div>
                <dt>p50 duration</dt>
                <dd>{formatMs(stats.last_hour.p50_ms)}</dd>
              </div>
              <div>
                <dt>p95 duration</dt>
                <dd>{formatMs(stats.last_hour.p95_ms)}</dd>
              </div>
            </dl>
            <div className="charts">
              <TimeSeriesChart
                title="Throughput (generations finished per minute)"
                kind="bars"
                times={times}
                formatValue={(value) => (Number.isInteger(value) ? String(value) : value.toFixed(1))}
                series={[
                  { name: 'succeeded', color: '#2f7d4f', values: stats.buckets.map((bucket) => bucket.succeeded * perMinute) },
                  { name: 'failed', color: '#b3261e', values: stats.buckets.map((bucket) => bucket.failed * perMinute) },
                ]}
              />
              <TimeSeriesChart
                title="Duration, submit to finish (p50 and p95)"
                kind="lines"
                times={times}
                formatValue={(value) => (value === 0 ? '0' : formatMs(value))}
                series={[
                  { name: 'p50', color: '#2f3d9e', values: stats.buckets.map((bucket) => bucket.p50_ms) },
                  { name: 'p95', color: '#c25e00', values: stats.buckets.map((bucket) => bucket.p95_ms) },
                ]}
              />
            </div>
          </section>
        </>
      )}
    </section>
  );
}

function formatMs(ms: number | null): string {
  if (ms == null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function secondsAgo(now: string, then: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(now) - Date.parse(then)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  return `${Math.round(seconds / 60)} min ago`;
}
