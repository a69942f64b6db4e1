import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '@chorus/contracts';
import { InvalidRequestError } from './errors';
import { DEFAULT_SECONDS_TOTAL, resolveSeed, validateGenerationRequest } from './generation';
import { modelManifestSchema, secondsTotalRange, windowSeconds } from './manifest';

const m = modelManifestSchema.parse(JSON.parse(readFileSync(path.resolve(__dirname, '../../../models/chorus-tiny/model.json'), 'utf8')));
const startMax = Math.min(LIMITS.secondsStartMax, m.timing.seconds_start!.max);

function fieldError(run: () => unknown): InvalidRequestError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidRequestError) return error;
    throw error;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('validateGenerationRequest', () => {
  it("fills in the model's defaults, 0 s start, 10 s (or the window) and a random seed", () => {
    const r = validateGenerationRequest(m, { prompt: 'warm pad' });
    expect(r).toMatchObject({
      prompt: 'warm pad',
      secondsStart: 0,
      secondsTotal: Math.min(DEFAULT_SECONDS_TOTAL, windowSeconds(m)),
      steps: m.defaults.steps,
      cfgScale: m.defaults.cfg_scale,
      sampler: m.defaults.sampler,
    });
    expect(Number.isInteger(r.seed) && r.seed >= 0 && r.seed <= LIMITS.seedMax).toBe(true);
    expect(r.negativePrompt).toBeUndefined();
  });

  it('keeps what the caller gave and drops a blank negative prompt', () => {
    const given = { prompt: 'p', negativePrompt: 'hiss', secondsStart: 2, secondsTotal: 3, steps: 9, cfgScale: 1.5, sampler: 'euler' as const, seed: 0 };
    expect(validateGenerationRequest(m, given)).toEqual(given);
    expect(validateGenerationRequest(m, { prompt: 'p', negativePrompt: '  ' }).negativePrompt).toBeUndefined();
  });

  it.each([
    [{ prompt: '' }, 'prompt', /non-empty/],
    [{ prompt: '   ' }, 'prompt', /non-empty/],
    [{ prompt: 'x'.repeat(LIMITS.promptMaxChars + 1) }, 'prompt', /at most 2000 characters, got 2001/],
    [{ prompt: 'p', negativePrompt: 'x'.repeat(LIMITS.promptMaxChars + 1) }, 'negativePrompt', /at most 2000/],
    [{ prompt: 'p', secondsStart: -1 }, 'secondsStart', new RegExp(`a number >= 0 and <= ${startMax}, got -1`)],
    [{ prompt: 'p', secondsStart: startMax + 1 }, 'secondsStart', new RegExp(`<= ${startMax}, got ${startMax + 1}`)],
    [{ prompt: 'p', secondsTotal: 0 }, 'secondsTotal', /from 0\.05 to 11\.88 \(the model's window\), got 0$/],
    [{ prompt: 'p', secondsTotal: 0.00001 }, 'secondsTotal', /from 0\.05 to 11\.88 \(the model's window\), got 0\.00001$/],
    [{ prompt: 'p', secondsTotal: windowSeconds(m) }, 'secondsTotal', /from 0\.05 to 11\.88 \(the model's window\)/],
    [{ prompt: 'p', secondsTotal: Number.NaN }, 'secondsTotal', /from 0\.05 to 11\.88/],
    [{ prompt: 'p', steps: 0 }, 'steps', /an integer >= 1 and <= 500, got 0/],
    [{ prompt: 'p', steps: 2.5 }, 'steps', /integer/],
    [{ prompt: 'p', cfgScale: 26 }, 'cfgScale', /<= 25/],
    [{ prompt: 'p', sampler: 'ddim' as never }, 'sampler', /one of euler, dpmpp-2m, dpmpp-3m-sde \(the samplers of this model's objective, v\), got "ddim"/],
    [{ prompt: 'p', seed: 2 ** 32 }, 'seed', /<= 4294967295/],
    [{ prompt: 'p', seed: -1 }, 'seed', />= 0/],
  ])('refuses %j, naming %s and its allowed range', (request, field, message) => {
    const error = fieldError(() => validateGenerationRequest(m, request));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });
});

describe('secondsTotalRange', () => {
  it("runs from one latent frame rounded up to the window rounded down, both to 0.01 s", () => {
    // chorus-tiny: 2048 / 44100 = 0.0464 s per latent frame, 256 frames = 11.8884 s.
    expect(secondsTotalRange(m)).toEqual({ min: 0.05, max: 11.88 });
  });

  it('accepts exactly its bounds in validateGenerationRequest', () => {
    const { min, max } = secondsTotalRange(m);
    expect(validateGenerationRequest(m, { prompt: 'p', secondsTotal: min }).secondsTotal).toBe(min);
    expect(validateGenerationRequest(m, { prompt: 'p', secondsTotal: max }).secondsTotal).toBe(max);
  });

  it("is capped by the timing conditioner's range", () => {
    const short = { ...m, timing: { ...m.timing, seconds_total: { min: 0.2, max: 5.555 } } };
    expect(secondsTotalRange(short)).toEqual({ min: 0.2, max: 5.55 });
  });
});

describe('resolveSeed', () => {
  it('keeps a given seed, including 0', () => {
    expect(resolveSeed(0)).toBe(0);
    expect(resolveSeed(123)).toBe(123);
  });

  it('draws a uint32 when none is given', () => {
    const seeds = new Set(Array.from({ length: 20 }, () => resolveSeed()));
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s <= LIMITS.seedMax).toBe(true);
    expect(seeds.size).toBeGreaterThan(15);
  });
});
