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
    secondsStartMax: manifest.timing.seconds_start.max,
    defaults: { steps: manifest.defaults.steps, sampler: manifest.defaults.sampler, cfgScale: manifest.defaults.cfg_scale },
  };
}
