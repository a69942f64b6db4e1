/**
 * Times the exported t5-base text encoder in onnxruntime-node (CPU) and reports peak memory (see T5.md).
 *
 *   /usr/bin/python3 models/importer/make_t5_base_random.py
 *   /usr/bin/python3 models/importer/export_t5.py models/importer/.t5-base-random models/importer/.t5-out/base-fp32/text_encoder.onnx
 *   npx tsx models/importer/bench_t5.mts models/importer/.t5-out/base-fp32/text_encoder.onnx BATCH [RUNS] [FEATURES_OUT]
 *
 * One process per graph and batch size, so the peak resident memory belongs to that case alone. Prompts are random
 * ids with random lengths (padding after). FEATURES_OUT, if given, receives the last run's ids, mask and features
 * (int64, int64, float32, raw little-endian) for a comparison against transformers.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as ort from 'onnxruntime-node';

const [file, batchText, runsText, featuresOut] = process.argv.slice(2);
const batch = Number(batchText);
const runs = Number(runsText ?? 5);
const T = 128;

let seed = 12345;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const ids = new BigInt64Array(batch * T);
const mask = new BigInt64Array(batch * T);
for (let b = 0; b < batch; b++) {
  const length = 8 + Math.floor(random() * (T - 8));
  for (let t = 0; t < length; t++) {
    ids[b * T + t] = BigInt(t === length - 1 ? 1 : 3 + Math.floor(random() * 32000));
    mask[b * T + t] = 1n;
  }
}

const loadStart = performance.now();
const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' });
const loadMs = performance.now() - loadStart;
const rssAfterLoad = process.memoryUsage().rss;
const feeds = { input_ids: new ort.Tensor('int64', ids, [batch, T]), attention_mask: new ort.Tensor('int64', mask, [batch, T]) };

const times: number[] = [];
let features: Float32Array | undefined;
for (let i = 0; i <= runs; i++) {
  const start = performance.now();
  features = (await session.run(feeds)).features.data as Float32Array;
  if (i > 0) times.push(performance.now() - start); // the first run is warm-up
}
times.sort((a, b) => a - b);
if (featuresOut) {
  writeFileSync(featuresOut, Buffer.concat([Buffer.from(ids.buffer), Buffer.from(mask.buffer), Buffer.from(features!.buffer)]));
}
const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
console.log(
  JSON.stringify({
    file,
    batch,
    tokens: T,
    threads: 'default',
    load_ms: Math.round(loadMs),
    run_ms_median: Math.round(times[Math.floor(times.length / 2)]),
    run_ms_min: Math.round(times[0]),
    runs,
    rss_after_load_mib: mib(rssAfterLoad),
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
  }),
);
await session.release();
