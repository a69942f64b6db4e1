import type { FarmProcess } from '@chorus/testing';

/**
 * http://127.0.0.1:<port> of a worker's probe port. Test workers bind WORKER_METRICS_PORT=0 (any
 * free port, so several can share a machine) and log the port they got.
 */
export async function probeUrl(worker: FarmProcess): Promise<string> {
  const line = await worker.waitForLine((l) => l.includes('"serving /metrics, /health/live and /health/ready"'), 30_000, 'the probe port');
  const { port } = JSON.parse(line) as { port: number };
  return `http://127.0.0.1:${port}`;
}

/** A sample's value in a Prometheus text exposition, or undefined when the series is absent. */
export function sampleValue(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
