import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { GenerationQueue } from '@chorus/queue';
import { useApi, type TestTenant } from './api-under-test';

const api = useApi('batches');

function postBatch(body: string, contentType: string, tenant: TestTenant = api.tenantA, query = ''): Promise<Response> {
  return fetch(`${api.url}/v1/batches${query}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...api.auth(tenant) },
    body,
  });
}

const postJson = (body: unknown, tenant?: TestTenant) => postBatch(JSON.stringify(body), 'application/json', tenant);

async function manifest(id: string, format = 'jsonl'): Promise<string> {
  const response = await fetch(`${api.url}/v1/batches/${id}/manifest?format=${format}`, { headers: api.auth(api.tenantA) });
  expect(response.status).toBe(200);
  return response.text();
}

function queue(): GenerationQueue {
  return api.app.get(GenerationQueue);
}

async function counts() {
  return {
    batches: await api.db.prisma.batch.count(),
    generations: await api.db.prisma.generation.count(),
    jobs: await queue().queue.getJobCountByTypes('prioritized', 'waiting'),
  };
}

describe('POST /v1/batches', () => {
  it('accepts a JSON list: 202, every row a queued generation in row order', async () => {
    const response = await postJson({ items: [{ prompt: 'row one', seconds_total: 1 }, { prompt: 'row two', seed: 5 }, { prompt: 'row three', steps: 3 }] });
    const batch = await response.json();

    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe(`/v1/batches/${batch.id}`);
    expect(batch).toMatchObject({ status: 'queued', total: 3, counts: { queued: 3, running: 0, succeeded: 0, failed: 0, canceled: 0 } });
    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id }, orderBy: { batchIndex: 'asc' } });
    expect(rows.map((row) => [row.batchIndex, row.prompt])).toEqual([[1, 'row one'], [2, 'row two'], [3, 'row three']]);
    expect(Number(rows[1].seed)).toBe(5);
    const jobs = await Promise.all(rows.map((row) => queue().getJob(row.id)));
    expect(jobs.every((job) => job !== undefined)).toBe(true);
  });

  it('accepts a CSV with a header row, numbers read as numbers, formulas kept as text', async () => {
    const csv = 'prompt,seconds_total,steps,seed\n"=HYPERLINK(""http://evil.example"",""x"")",1.5,3,42\n"a warm pad, in C minor",2,,7\n';

    const response = await postBatch(csv, 'text/csv');
    const batch = await response.json();

    expect(response.status).toBe(202);
    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id }, orderBy: { batchIndex: 'asc' } });
    expect(rows.map((row) => [row.prompt, row.secondsTotal, Number(row.seed)])).toEqual([
      ['=HYPERLINK("http://evil.example","x")', 1.5, 42],
      ['a warm pad, in C minor', 2, 7],
    ]);
    // The JSONL manifest keeps the text exactly; the CSV one defuses it for spreadsheets.
    expect(JSON.parse((await manifest(batch.id)).split('\n')[0]).params.prompt).toBe('=HYPERLINK("http://evil.example","x")');
    expect((await manifest(batch.id, 'csv')).split('\n')[1]).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")"`);
  });

  it('accepts JSONL, and a multipart upload of a CSV file', async () => {
    const jsonl = await postBatch('{"prompt":"line one","seconds_total":1}\n\n{"prompt":"line two"}\n', 'application/x-ndjson');
    const form = new FormData();
    form.append('file', new Blob(['prompt,seconds_total\nuploaded one,1\nuploaded two,1\n'], { type: 'text/csv' }), 'prompts.csv');
    const upload = await fetch(`${api.url}/v1/batches`, { method: 'POST', headers: api.auth(api.tenantA), body: form });

    expect(jsonl.status).toBe(202);
    expect((await jsonl.json()).total).toBe(2);
    expect(upload.status).toBe(202);
    expect((await upload.json()).total).toBe(2);
  });

  it('checks every row first: 400 naming each bad row and field, and nothing created', async () => {
    const before = await counts();
    const csv = [
      'prompt,seconds_total,steps,sampler',
      'fine,1,4,euler',
      'too long,9999,4,euler',
      'fine too,1,4,euler',
      'bad steps,1,many,euler',
      ',1,4,magic',
    ].join('\n');

    const response = await postBatch(csv, 'text/csv');
    const problem = await response.json();

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    const errors = problem.errors.map((error: { row: number; field: string }) => [error.row, error.field]);
    expect(errors).toEqual(expect.arrayContaining([[2, 'seconds_total'], [4, 'steps'], [5, 'prompt'], [5, 'sampler']]));
    expect(errors.some(([row]: [number]) => row === 1 || row === 3)).toBe(false);
    expect(problem.detail).toMatch(/3 of 5 rows are not valid; nothing was created/);
    expect(await counts()).toEqual(before);
  });

  it('answers 400 for a JSONL line that is not JSON, and for an empty batch', async () => {
    const broken = await postBatch('{"prompt":"ok"}\n{"prompt": nope}\n', 'application/x-ndjson');
    const empty = await postJson({ items: [] });

    expect(broken.status).toBe(400);
    expect((await broken.json()).errors).toEqual([{ row: 2, field: 'line', message: 'is not valid JSON' }]);
    expect(empty.status).toBe(400);
  });

  it('reports unreadable JSONL lines and bad fields of other rows in one answer, in row order', async () => {
    const before = await counts();
    const jsonl = ['{"prompt":"fine"}', '{"prompt": nope}', '{"prompt":"bad steps","steps":0}', 'not json either', '{"prompt":"", "sampler":"magic"}'].join('\n');
    const response = await postBatch(jsonl, 'application/x-ndjson');
    const problem = await response.json();

    expect(response.status).toBe(400);
    expect(problem.errors.map((error: { row: number; field: string }) => [error.row, error.field])).toEqual([
      [2, 'line'],
      [3, 'steps'],
      [4, 'line'],
      [5, 'prompt'],
      [5, 'sampler'],
    ]);
    expect(problem.detail).toMatch(/^4 of 5 rows are not valid; nothing was created/);
    expect(await counts()).toEqual(before);
  });

  it('refuses a row that is more urgent than the tenant allows', async () => {
    const response = await postJson({ items: [{ prompt: 'rush me', priority: 1 }] });
    expect(response.status).toBe(400);
    expect((await response.json()).errors[0]).toMatchObject({ row: 1, field: 'priority' });
  });

  it('refuses private and metadata webhook URLs, for the batch and for a row', async () => {
    const forBatch = await postJson({ items: [{ prompt: 'x' }], webhook_url: 'http://169.254.169.254/latest/meta-data/' });
    const forRow = await postJson({ items: [{ prompt: 'x' }, { prompt: 'y', webhook_url: 'http://10.0.0.8/hook' }] });

    expect(forBatch.status).toBe(400);
    expect((await forBatch.json()).errors[0]).toMatchObject({ field: 'webhook_url', message: expect.stringMatching(/metadata/) });
    expect(forRow.status).toBe(400);
    expect((await forRow.json()).errors[0]).toMatchObject({ row: 2, field: 'webhook_url', message: expect.stringMatching(/private/) });
  });

  it('accepts 10,000 CSV rows in one request and queues them all, answering other requests meanwhile', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => `"prompt number ${i}, a short pluck",1,${i}`);
    const csv = `prompt,seconds_total,seed\n${rows.join('\n')}\n`;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();

    const started = performance.now();
    let batchAnswered = false;
    const submitting = postBatch(csv, 'text/csv').finally(() => (batchAnswered = true));
    // Another client keeps asking while the batch is parsed, checked, inserted and queued: the
    // API runs in this process, so it can only answer them if the batch yields the event loop.
    const answeredMeanwhile: number[] = [];
    while (!batchAnswered) {
      const asked = performance.now();
      const models = await fetch(`${api.url}/v1/models`, { headers: api.auth(api.tenantB) });
      if (models.status === 200 && !batchAnswered) answeredMeanwhile.push(performance.now() - asked);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const response = await submitting;
    const elapsedMs = performance.now() - started;
    lag.disable();
    const batch = await response.json();

    expect(response.status).toBe(202);
    expect(batch.total).toBe(10_000);
    expect(await api.db.prisma.generation.count({ where: { batchId: batch.id } })).toBe(10_000);
    const jobs = await queue().queue.getPrioritized(0, -1);
    expect(jobs.filter((job) => job.data.tenantId === api.tenantA.id).length).toBeGreaterThanOrEqual(10_000);
    const slowest = Math.max(...answeredMeanwhile);
    console.log(
      `10,000-row batch: ${Math.round(elapsedMs)} ms; ${answeredMeanwhile.length} other requests answered meanwhile, ` +
        `slowest ${Math.round(slowest)} ms; longest event-loop stall ${Math.round(lag.max / 1e6)} ms`,
    );
    expect(answeredMeanwhile.length).toBeGreaterThanOrEqual(10);
    const lines = (await manifest(batch.id)).trim().split('\n');
    expect(lines).toHaveLength(10_000);
    expect(JSON.parse(lines[9_999])).toMatchObject({ row: 10_000, status: 'queued', seed: 9_999, audio: null });
  }, 180_000);
});

describe('batch priorities', () => {
  it('puts batch rows behind an interactive request of the same tenant queued after them', async () => {
    const batch = await (await postJson({ items: Array.from({ length: 20 }, (_, i) => ({ prompt: `lane ${i}`, seconds_total: 1 })) }, api.tenantB)).json();
    const interactive = await api.tenantB.client.createGeneration({ prompt: 'now please', seconds_total: 1 });

    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id } });
    const batchPriorities = await Promise.all(rows.map(async (row) => (await queue().getJob(row.id))!.priority));
    const interactivePriority = (await queue().getJob(interactive.id))!.priority;

    expect(interactivePriority).toBeLessThan(Math.min(...batchPriorities.slice(1)));
  });
});

describe('GET /v1/batches/:id and the manifest', () => {
  it('counts rows by status and lists every row with its parameters and seed', async () => {
    const batch = await (await postJson({ items: [{ prompt: 'counted one', seed: 1 }, { prompt: 'counted two', seed: 2 }] })).json();
    const [first] = await api.db.prisma.generation.findMany({ where: { batchId: batch.id }, orderBy: { batchIndex: 'asc' } });
    await api.db.prisma.generation.update({ where: { id: first.id }, data: { status: 'failed', error: 'boom', finishedAt: new Date() } });

    const response = await fetch(`${api.url}/v1/batches/${batch.id}`, { headers: api.auth(api.tenantA) });
    const lines = (await manifest(batch.id)).trim().split('\n').map((line) => JSON.parse(line));

    expect(await response.json()).toMatchObject({ id: batch.id, status: 'running', counts: { queued: 1, failed: 1 } });
    expect(lines).toEqual([
      expect.objectContaining({ row: 1, status: 'failed', seed: 1, error: 'boom', params: expect.objectContaining({ prompt: 'counted one' }) }),
      expect.objectContaining({ row: 2, status: 'queued', seed: 2, audio: null }),
    ]);
  });

  it("answers 404 for another tenant's batch", async () => {
    const batch = await (await postJson({ items: [{ prompt: 'mine' }] })).json();
    for (const path of [`/v1/batches/${batch.id}`, `/v1/batches/${batch.id}/manifest`]) {
      const response = await fetch(`${api.url}${path}`, { headers: api.auth(api.tenantB) });
      expect(response.status).toBe(404);
    }
  });
});

describe('POST /v1/batches/:id/cancel', () => {
  it('cancels every queued row and removes its job, leaving finished rows as they are', async () => {
    const batch = await (await postJson({ items: Array.from({ length: 5 }, (_, i) => ({ prompt: `cancel me ${i}` })) })).json();
    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id }, orderBy: { batchIndex: 'asc' } });
    await api.db.prisma.generation.update({ where: { id: rows[0].id }, data: { status: 'succeeded', finishedAt: new Date() } });

    const response = await fetch(`${api.url}/v1/batches/${batch.id}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });
    const canceled = await response.json();

    expect(response.status).toBe(200);
    expect(canceled).toMatchObject({ status: 'canceled', counts: { succeeded: 1, canceled: 4, queued: 0 } });
    expect(canceled.finished_at).not.toBeNull();
    for (const row of rows.slice(1)) expect(await queue().getJob(row.id)).toBeUndefined();
  });

  const cancelBatch = (id: string) => fetch(`${api.url}/v1/batches/${id}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });

  it('answers a completed batch with 409 not_cancelable, as a finished generation is answered', async () => {
    const batch = await (await postJson({ items: [{ prompt: 'done one' }, { prompt: 'done two' }] })).json();
    await api.db.prisma.generation.updateMany({ where: { batchId: batch.id }, data: { status: 'succeeded', finishedAt: new Date() } });
    await api.db.prisma.batch.update({ where: { id: batch.id }, data: { finishedAt: new Date(), status: 'completed' } });
    const generation = await api.db.prisma.generation.findFirstOrThrow({ where: { batchId: batch.id } });

    const batchAnswer = await cancelBatch(batch.id);
    const generationAnswer = await fetch(`${api.url}/v1/generations/${generation.id}/cancel`, { method: 'POST', headers: api.auth(api.tenantA) });

    expect(generationAnswer.status).toBe(409);
    expect(batchAnswer.status).toBe(409);
    expect(await batchAnswer.json()).toMatchObject({ code: 'not_cancelable', detail: expect.stringMatching(/already completed/) });
    expect((await api.db.prisma.batch.findUniqueOrThrow({ where: { id: batch.id } })).canceledAt).toBeNull();
  });

  it('answers 409 when every row has ended even before the batch is marked finished', async () => {
    const batch = await (await postJson({ items: [{ prompt: 'ended' }] })).json();
    await api.db.prisma.generation.updateMany({ where: { batchId: batch.id }, data: { status: 'failed', finishedAt: new Date() } });
    expect((await cancelBatch(batch.id)).status).toBe(409);
  });

  it('answers 202 while running rows stop, and 200 unchanged once canceled', async () => {
    const batch = await (await postJson({ items: [{ prompt: 'running row' }, { prompt: 'queued row' }] })).json();
    const rows = await api.db.prisma.generation.findMany({ where: { batchId: batch.id }, orderBy: { batchIndex: 'asc' } });
    await api.db.prisma.generation.update({ where: { id: rows[0].id }, data: { status: 'running', startedAt: new Date() } });

    const stopping = await cancelBatch(batch.id);
    expect(stopping.status).toBe(202);
    expect(await stopping.json()).toMatchObject({ status: 'canceling', counts: { running: 1, canceled: 1 } });

    // The worker stops the running row; the batch ends canceled.
    await api.db.prisma.generation.update({ where: { id: rows[0].id }, data: { status: 'canceled', finishedAt: new Date() } });
    await api.db.prisma.batch.update({ where: { id: batch.id }, data: { finishedAt: new Date(), status: 'canceled' } });
    const again = await cancelBatch(batch.id);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'canceled', counts: { canceled: 2 } });
  });
});

describe('webhook_url on POST /v1/generations', () => {
  it.each([
    ['http://127.0.0.1:8080/hook', /loopback/],
    ['http://localhost:8080/hook', /loopback/],
    ['http://169.254.169.254/latest/meta-data/', /metadata/],
    ['http://[fd00:ec2::254]/', /metadata/],
    ['http://192.168.1.20/hook', /private/],
    ['http://100.64.0.1/hook', /carrier-grade NAT/],
  ])('refuses %s with 400 naming webhook_url', async (url, reason) => {
    const response = await fetch(`${api.url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...api.auth(api.tenantA) },
      body: JSON.stringify({ prompt: 'a hook', webhook_url: url }),
    });
    const problem = await response.json();

    expect(response.status).toBe(400);
    expect(problem.errors).toEqual([{ field: 'webhook_url', message: expect.stringMatching(reason) }]);
  });
});
