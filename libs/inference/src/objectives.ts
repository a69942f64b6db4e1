/**
 * One parameterization per diffusion objective (model.json `diffusion.objective`), picked by `objectiveFor`:
 * how a noise level becomes the network's inputs and how its output becomes the denoised estimate.
 */
import type { Objective } from '@chorus/contracts';
import { denoisedFromFlow } from './rectified-flow';
import { denoisedFromV, scaleInput, sigmaToT } from './v-denoiser';

export interface ObjectiveParameterization {
  /** The network's time input at noise level sigma. */
  networkTime(sigma: number): number;
  /** The network's x input, written into `out`. */
  networkInput(x: Float32Array, sigma: number, out: Float32Array): Float32Array;
  /** The denoised estimate from x and the network's output. */
  denoised(x: Float32Array, output: Float32Array, sigma: number, out?: Float32Array): Float32Array;
  /**
   * The quantity upstream's DiT compares with `cfg_interval` (models/dit.py forward): for `v`, sin(t·π/2) of the
   * network time t, which is σ/√(σ²+1); for rectified flow, t itself.
   */
  guidanceSigma(sigma: number): number;
  /** The starting latent is this times unit noise, given the schedule's first level. */
  startScale(sigma0: number): number;
}

/** k-diffusion's VDenoiser, sigma_data = 1. */
const vObjective: ObjectiveParameterization = {
  networkTime: sigmaToT,
  networkInput: (x, sigma, out) => scaleInput(x, sigma, out),
  denoised: (x, output, sigma, out) => denoisedFromV(x, output, sigma, out),
  guidanceSigma: (sigma) => Math.fround(Math.sin((Math.fround(sigmaToT(sigma)) * Math.PI) / 2)),
  startScale: (sigma0) => sigma0,
};

/** `sample_rf`: the network sees x and t as they are; sampling starts from unit noise (`x = noise`). */
const rectifiedFlow: ObjectiveParameterization = {
  networkTime: (t) => t,
  networkInput: (x, _t, out) => {
    out.set(x);
    return out;
  },
  denoised: (x, output, t, out) => denoisedFromFlow(x, output, t, out),
  guidanceSigma: (t) => t,
  startScale: () => 1,
};

export function objectiveFor(objective: Objective): ObjectiveParameterization {
  switch (objective) {
    case 'v':
      return vObjective;
    case 'rectified_flow':
    case 'rf_denoiser':
      return rectifiedFlow;
  }
}
