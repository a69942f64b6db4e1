import { LIMITS, OUTPUT_FORMATS, samplersForObjective, type ProblemDocument } from '@chorus/contracts';
import { InvalidRequestError, readManifest, secondsTotalRange, validateGenerationRequest, windowSeconds } from '@chorus/inference';
import { describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

const api = useApi('validation');

async function post(body: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${api.url}/v1/generations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...api.auth(api.tenantA), ...headers },
    body,
  });
  const text = await response.text();
  return { response, problem: JSON.parse(text) as ProblemDocument };
}

/** Posts a body and expects a 400 validation problem; returns its field errors by field. */
async function expectInvalid(body: unknown): Promise<Map<string, string>> {
  const { response, problem } = await post(JSON.stringify(body));
  expect(response.status).toBe(400);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(problem).toMatchObject({ status: 400, code: 'validation_error', type: 'urn:chorus:problem:validation_error' });
  expect(problem.errors?.length).toBeGreaterThan(0);
  return new Map(problem.errors!.map((e) => [e.field, e.message]));
}

describe('POST /v1/generations rejects bad bodies with 400 problems naming each field', () => {
  it('a missing prompt', async () => {
    const errors = await expectInvalid({ seconds_total: 2 });
    expect(errors.get('prompt')).toMatch(/required/);
  });

  it('an empty or blank prompt', async () => {
    expect((await expectInvalid({ prompt: '' })).get('prompt')).toMatch(/must not be empty/);
    expect((await expectInvalid({ prompt: '   ' })).get('prompt')).toMatch(/must not be empty/);
  });

  it('a prompt longer than the limit, with the limit in the message', async () => {
    const errors = await expectInvalid({ prompt: 'a'.repeat(LIMITS.promptMaxChars + 1) });
    expect(errors.get('prompt')).toContain(String(LIMITS.promptMaxChars));
  });

  it('wrong types, each named with its allowed range', async () => {
    const errors = await expectInvalid({ prompt: 42, steps: '20', cfg_scale: true, seed: [1], seconds_total: '3' });
    expect([...errors.keys()].sort()).toEqual(['cfg_scale', 'prompt', 'seconds_total', 'seed', 'steps']);
    expect(errors.get('steps')).toBe(`must be an integer from ${LIMITS.stepsMin} to ${LIMITS.stepsMax}`);
    expect(errors.get('cfg_scale')).toBe(`must be a number from ${LIMITS.cfgScaleMin} to ${LIMITS.cfgScaleMax}`);
    expect(errors.get('seed')).toBe(`must be an integer from 0 to ${LIMITS.seedMax}`);
  });

  it("seconds_total beyond the model's window, naming the window", async () => {
    const { data } = await api.tenantA.client.listModels();
    const window = data[0].window_seconds;
    const errors = await expectInvalid({ prompt: 'a pad', seconds_total: window + 0.5 });
    expect(errors.get('seconds_total')).toContain(String(window));
    expect(errors.get('seconds_total')).toMatch(/window/);
  });

  it('seconds_total shorter than the shortest clip or past the exact window, refused by the rule the worker applies', async () => {
    const manifest = await readManifest(api.config.MODEL_DIR);
    const range = secondsTotalRange(manifest);
    const { data } = await api.tenantA.client.listModels();
    expect({ min: data[0].seconds_total_min, max: data[0].window_seconds }).toEqual(range);
    for (const seconds of [0.00001, 1e-9, 0.000001, range.min - 0.001, range.max + 0.001, windowSeconds(manifest)]) {
      const errors = await expectInvalid({ prompt: 'a pad', seconds_total: seconds });
      let workerError: unknown;
      try {
        validateGenerationRequest(manifest, { prompt: 'a pad', secondsTotal: seconds });
      } catch (error) {
        workerError = error;
      }
      expect(workerError).toBeInstanceOf(InvalidRequestError);
      expect(errors.get('seconds_total')).toBe(`must be ${(workerError as InvalidRequestError).allowed}`);
    }
  });

  it('seconds_total at either bound of the range it names', async () => {
    const range = secondsTotalRange(await readManifest(api.config.MODEL_DIR));
    for (const seconds of [range.min, range.max]) {
      const response = await api.tenantB.client.createGeneration({ prompt: 'a pad', seconds_total: seconds });
      expect(response.seconds_total).toBe(seconds);
    }
  });

  it('zero or negative durations', async () => {
    expect((await expectInvalid({ prompt: 'a pad', seconds_total: 0 })).has('seconds_total')).toBe(true);
    expect((await expectInvalid({ prompt: 'a pad', seconds_start: -1 })).has('seconds_start')).toBe(true);
  });

  it("seconds_start beyond the model's timing range", async () => {
    const { data } = await api.tenantA.client.listModels();
    const errors = await expectInvalid({ prompt: 'a pad', seconds_start: data[0].seconds_start_max + 1 });
    expect(errors.get('seconds_start')).toContain(String(data[0].seconds_start_max));
  });

  it('unknown fields, each by name', async () => {
    const errors = await expectInvalid({ prompt: 'a pad', duration: 3, model: 'x' });
    expect(errors.get('duration')).toBe('is not a known field');
    expect(errors.get('model')).toBe('is not a known field');
  });

  it('huge numbers and non-integers', async () => {
    const errors = await expectInvalid({ prompt: 'a pad', steps: 1e9, seed: 2 ** 40, cfg_scale: 1e300, priority: 1.5 });
    expect([...errors.keys()].sort()).toEqual(['cfg_scale', 'priority', 'seed', 'steps']);
  });

  it('numbers that overflow to Infinity in JSON', async () => {
    const { response, problem } = await post('{"prompt":"a pad","steps":1e999,"cfg_scale":-1e999}');
    expect(response.status).toBe(400);
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(['cfg_scale', 'steps']);
  });

  it('NaN, which JSON cannot carry, as invalid JSON', async () => {
    const { response, problem } = await post('{"prompt":"a pad","steps":NaN}');
    expect(response.status).toBe(400);
    expect(problem.code).toBe('invalid_json');
  });

  it("an unknown sampler or output format, listing the allowed ones (the served model's samplers)", async () => {
    const errors = await expectInvalid({ prompt: 'a pad', sampler: 'ddim', output_format: 'ogg' });
    expect(errors.get('sampler')).toBe(`must be one of ${samplersForObjective('v').join(', ')} (the samplers the model accepts)`);
    expect(errors.get('output_format')).toBe(`must be one of ${OUTPUT_FORMATS.join(', ')}`);
  });

  it("a known sampler the served model's objective does not take, naming the ones it does", async () => {
    // The served model (chorus-tiny) is a v-objective model; pingpong is for rectified flow.
    const errors = await expectInvalid({ prompt: 'a pad', sampler: 'pingpong' });
    expect(errors.get('sampler')).toBe(`must be one of ${samplersForObjective('v').join(', ')} (the samplers the model accepts)`);
  });

  it('a webhook URL that is not http(s)', async () => {
    expect((await expectInvalid({ prompt: 'a pad', webhook_url: 'ftp://example.com/x' })).has('webhook_url')).toBe(true);
    expect((await expectInvalid({ prompt: 'a pad', webhook_url: 'not a url' })).has('webhook_url')).toBe(true);
  });

  it('a body that is not a JSON object', async () => {
    expect((await expectInvalid(['a pad'])).get('body')).toBe('must be a JSON object');
    // A bare JSON string or null is valid JSON, so validation names what it should be.
    expect((await expectInvalid('a pad')).get('body')).toBe('must be a JSON object');
    expect((await expectInvalid(null)).get('body')).toBe('must be a JSON object');
  });

  it('a body sent as something other than JSON as 415', async () => {
    const response = await fetch(`${api.url}/v1/generations`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...api.auth(api.tenantA) },
      body: 'a pad',
    });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'unsupported_media_type' });
  });

  it('malformed JSON as 400 invalid_json', async () => {
    const { response, problem } = await post('{"prompt": "a pad",');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(problem).toMatchObject({ code: 'invalid_json', status: 400 });
  });

  it('a body over the size limit as 413', async () => {
    const { response, problem } = await post(JSON.stringify({ prompt: 'a'.repeat(1024 * 1024 + 10) }));
    expect(response.status).toBe(413);
    expect(problem).toMatchObject({ code: 'payload_too_large', status: 413 });
  });

  it('a bad Idempotency-Key header', async () => {
    const { response, problem } = await post(JSON.stringify({ prompt: 'a pad' }), { 'idempotency-key': 'x'.repeat(300) });
    expect(response.status).toBe(400);
    expect(problem.errors?.[0].field).toBe('header.idempotency-key');
  });

  it('creates nothing for a rejected body', async () => {
    expect(await api.db.prisma.generation.count({ where: { tenantId: api.tenantA.id } })).toBe(0);
  });
});

describe('GET /v1/generations rejects bad query strings with 400 problems', () => {
  async function list(query: string) {
    const response = await fetch(`${api.url}/v1/generations?${query}`, { headers: api.auth(api.tenantA) });
    return { response, problem: (await response.json()) as ProblemDocument };
  }

  it.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1e3', 'limit'],
    ['status=done', 'status'],
    ['status=queued,,running', 'status'],
    ['cursor=not-a-cursor', 'cursor'],
    ['sort=asc', 'sort'],
    ['batch_id=abc', 'batch_id'],
    ['q=', 'q'],
    ['limit=5&limit=6', 'limit'],
  ])('%s names %s', async (query, field) => {
    const { response, problem } = await list(query);
    expect(response.status).toBe(400);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });
});
