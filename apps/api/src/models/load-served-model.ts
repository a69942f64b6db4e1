import { samplersForObjective } from '@chorus/contracts';
import { readManifest, secondsTotalRange } from '@chorus/inference';
import type { ServedModel } from './served-model';

/** Reads MODEL_DIR's model.json (not its graphs: the API never runs the model). */
export async function loadServedModel(modelDir: string): Promise<ServedModel> {
  const manifest = await readManifest(modelDir);
  return {
    name: manifest.name,
    version: manifest.version,
    sampleRate: manifest.sample_rate,
    channels: manifest.channels,
    windowSeconds: secondsTotalRange(manifest).max,
    secondsTotalMin: secondsTotalRange(manifest).min,
    // A model without seconds_start conditioning (SAO Small) accepts only 0.
    secondsStartMax: manifest.timing.seconds_start?.max ?? 0,
    samplers: samplersForObjective(manifest.diffusion.objective),
    defaults: { steps: manifest.defaults.steps, sampler: manifest.defaults.sampler, cfgScale: manifest.defaults.cfg_scale },
  };
}
