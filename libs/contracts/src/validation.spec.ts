import { describe, expect, it } from 'vitest';
import { generationRequestSchema, withModelWindow } from './generation-request';
import { OBJECTIVES, SAMPLERS, samplersForObjective } from './limits';
import { fieldErrors } from './validation';

function errorsOf(schema: typeof generationRequestSchema | ReturnType<typeof withModelWindow>, body: unknown) {
  const result = schema.safeParse(body);
  if (result.success) throw new Error('expected the body to be rejected');
  return fieldErrors(result.error);
}

describe('fieldErrors', () => {
  it('lists each unknown key as its own field', () => {
    expect(errorsOf(generationRequestSchema, { prompt: 'x', a: 1, b: 2 })).toEqual([
      { field: 'a', message: 'is not a known field' },
      { field: 'b', message: 'is not a known field' },
    ]);
  });

  it('reports a field once even when several checks fail on it', () => {
    const errors = errorsOf(generationRequestSchema, { prompt: 'x', seed: 2 ** 60 });
    expect(errors).toEqual([{ field: 'seed', message: 'must be an integer from 0 to 4294967295' }]);
  });

  it('names the body when it is not an object', () => {
    expect(errorsOf(generationRequestSchema, [])).toEqual([{ field: 'body', message: 'must be a JSON object' }]);
  });

  it('prefixes fields when asked', () => {
    const result = generationRequestSchema.safeParse({ prompt: '' });
    expect(result.success).toBe(false);
    if (!result.success) expect(fieldErrors(result.error, 'query')[0].field).toBe('query.prompt');
  });
});

describe('withModelWindow', () => {
  const schema = withModelWindow({ secondsTotal: { min: 0.05, max: 11.88 }, secondsStartMax: 32 });
  const totalRule = "must be a number of seconds from 0.05 to 11.88 (the model's window)";

  it('accepts both bounds it names', () => {
    expect(schema.safeParse({ prompt: 'x', seconds_total: 11.88 }).success).toBe(true);
    expect(schema.safeParse({ prompt: 'x', seconds_total: 0.05 }).success).toBe(true);
  });

  it.each([11.885, 11.9, 0.049, 0.00001, 1e-9, 0, -1, '3'])('refuses seconds_total %s with the one range', (seconds) => {
    expect(errorsOf(schema, { prompt: 'x', seconds_total: seconds })).toEqual([{ field: 'seconds_total', message: totalRule }]);
  });

  it.each([40, 33, -1, 'x'])("refuses seconds_start %s naming the model's timing range", (seconds) => {
    expect(errorsOf(schema, { prompt: 'x', seconds_start: seconds })).toEqual([
      { field: 'seconds_start', message: "must be a number from 0 to 32 (the model's timing range)" },
    ]);
  });

  it('refuses a sampler the model does not accept, naming the ones it does', () => {
    const rf = withModelWindow({ secondsTotal: { min: 0.05, max: 11.88 }, secondsStartMax: 0, samplers: samplersForObjective('rf_denoiser') });
    expect(rf.safeParse({ prompt: 'x', sampler: 'pingpong' }).success).toBe(true);
    expect(errorsOf(rf, { prompt: 'x', sampler: 'dpmpp-3m-sde' })).toEqual([
      { field: 'sampler', message: 'must be one of pingpong, euler (the samplers the model accepts)' },
    ]);
    expect(errorsOf(rf, { prompt: 'x', seconds_start: 1 })[0].message).toBe("must be a number from 0 to 0 (the model's timing range)");
  });
});

describe('samplersForObjective', () => {
  it('gives k-diffusion samplers to v models and sample_rf samplers to rectified flow, all of them known', () => {
    expect(samplersForObjective('v')).toEqual(['euler', 'dpmpp-2m', 'dpmpp-3m-sde']);
    expect(samplersForObjective('rectified_flow')).toEqual(['pingpong', 'euler']);
    expect(samplersForObjective('rf_denoiser')).toEqual(['pingpong', 'euler']);
    for (const o of OBJECTIVES) for (const s of samplersForObjective(o)) expect(SAMPLERS).toContain(s);
  });
});
