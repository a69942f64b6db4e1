/**
 * Classifier-free guidance against stable-audio-tools' own code: models/importer/make_sampler_goldens.py ran
 * upstream `DiffusionTransformer.forward` (models/dit.py) with its network `_forward` replaced by a toy, and
 * recorded the output and the batch of every network pass. Here the same toy runs on the rows our
 * `buildBatchConditioning` lays out (zero_all_tokens), steps are guided where our `guidanceApplies` says, and the
 * rows are combined by our `guide` — the pieces the pipeline's sampling step is made of.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Objective } from '@chorus/contracts';
import { buildBatchConditioning, type ItemConditioning } from './conditioning';
import { guidanceApplies, guide } from './guidance';
import { readNpyFloat32 } from './npy';
import { objectiveFor } from './objectives';

const GOLDEN_DIR = path.resolve(__dirname, '../../../models/importer/golden/sampler');
const { guidance } = JSON.parse(readFileSync(path.join(GOLDEN_DIR, 'index.json'), 'utf8'));
const { B, C, L, S, D, G } = guidance.shape as Record<string, number>;
const TIMING = 2; // the toy's last two tokens are timing tokens
const TEXT = S - TIMING;
const load = (name: string) => readNpyFloat32(path.join(GOLDEN_DIR, guidance.inputs[name])).data;
const x = load('x');
const cond = load('cross_attn_cond');
const neg = load('negative_cross_attn_cond');
const negMask = load('negative_cross_attn_mask');
const globalCond = load('global_cond');
const toy = { w: load('toy_w'), p: load('toy_p'), u: load('toy_u'), q: load('toy_q') };

interface GuidanceCase {
  name: string;
  objective: Objective;
  t: number;
  cfg_scale: number;
  cfg_rescale: number;
  cfg_interval: [number, number];
  negative: boolean;
  network_rows: number[];
  output: string;
}

/** make_sampler_goldens.py's toy `_forward`: out = tanh(x·(1 + 0.1c) + s_b·p_c + g_b·q_l + t_b). */
function toyForward(xRows: Float32Array, t: number, tokens: Float32Array, globals: Float32Array, rows: number): Float32Array {
  const out = new Float32Array(rows * C * L);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let k = 0; k < S * D; k++) s += tokens[r * S * D + k] * toy.w[k];
    let g = 0;
    for (let k = 0; k < G; k++) g += globals[r * G + k] * toy.u[k];
    for (let c = 0; c < C; c++) {
      for (let l = 0; l < L; l++) {
        const i = (r * C + c) * L + l;
        out[i] = Math.tanh(xRows[i] * (1 + 0.1 * c) + s * toy.p[c] + g * toy.q[l] + Math.fround(t));
      }
    }
  }
  return out;
}

function items(negative: boolean): ItemConditioning[] {
  return Array.from({ length: B }, (_, b) => {
    const tokens = (a: Float32Array) => a.subarray(b * S * D, (b + 1) * S * D);
    return {
      text: { features: tokens(cond).slice(0, TEXT * D), mask: new Float32Array(TEXT).fill(1) },
      ...(negative && { negativeText: { features: tokens(neg).slice(0, TEXT * D), mask: negMask.slice(b * S, b * S + TEXT) } }),
      timingTokens: tokens(cond).slice(TEXT * D),
      globalCond: globalCond.slice(b * G, (b + 1) * G),
    };
  });
}

/** The noise level our samplers would hand the denoiser at this network time. */
const sigmaAt = (objective: Objective, t: number) => (objective === 'v' ? Math.tan((t * Math.PI) / 2) : t);

describe('classifier-free guidance against upstream DiffusionTransformer.forward', () => {
  it.each((guidance.cases as GuidanceCase[]).map((c) => [c.name, c] as const))('%s: same network batch and output within 1e-5', (_, c) => {
    const objective = objectiveFor(c.objective);
    const guided = Array.from({ length: B }, () => guidanceApplies(c.cfg_scale, c.cfg_interval, objective.guidanceSigma(sigmaAt(c.objective, c.t))));
    const batch = buildBatchConditioning(items(c.negative), TEXT, D, G, { uncond: 'zero_all_tokens', guided });
    expect([batch.rows]).toEqual(c.network_rows);

    const xRows = new Float32Array(batch.rows * C * L);
    xRows.set(x);
    let next = B;
    const uncondRow = guided.map((g) => (g ? next++ : -1));
    uncondRow.forEach((r, b) => r >= 0 && xRows.set(x.subarray(b * C * L, (b + 1) * C * L), r * C * L));
    const out = toyForward(xRows, c.t, batch.crossAttnCond, batch.globalCond, batch.rows);

    const expected = readNpyFloat32(path.join(GOLDEN_DIR, c.output)).data;
    let worst = 0;
    for (let b = 0; b < B; b++) {
      const row = (r: number) => out.subarray(r * C * L, (r + 1) * C * L);
      const ours = guided[b] ? guide(row(b), row(uncondRow[b]), C, L, { cfgScale: c.cfg_scale, cfgRescale: c.cfg_rescale }) : row(b);
      for (let k = 0; k < C * L; k++) worst = Math.max(worst, Math.abs(ours[k] - expected[b * C * L + k]));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('zero_all_tokens: without a negative prompt the unconditional row is all zeros (timing tokens too) and keeps the global vector', () => {
    const batch = buildBatchConditioning(items(false), TEXT, D, G, { uncond: 'zero_all_tokens' });
    const tokens = S * D;
    expect(batch.crossAttnCond.subarray(B * tokens, 2 * B * tokens).every((v) => v === 0)).toBe(true);
    expect(Array.from(batch.globalCond.subarray(B * G))).toEqual(Array.from(globalCond));
  });

  it('zero_all_tokens: a negative prompt replaces the zeros, its padding zeroed, followed by the timing tokens', () => {
    const batch = buildBatchConditioning(items(true), TEXT, D, G, { uncond: 'zero_all_tokens' });
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const ours = Array.from(batch.crossAttnCond.subarray(((B + b) * S + s) * D, ((B + b) * S + s + 1) * D));
        const keep = negMask[b * S + s] !== 0;
        const source = s < TEXT ? neg : cond; // timing tokens are the conditional ones (same seconds)
        const theirs = Array.from(source.subarray((b * S + s) * D, (b * S + s + 1) * D)).map((v) => (keep ? v : 0));
        expect(ours).toEqual(theirs);
      }
    }
  });
});
