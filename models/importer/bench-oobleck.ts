/**
 * Times one Oobleck VAE decoder graph in onnxruntime-node (CPU) and reports the process's peak memory.
 *
 *   npx tsx models/importer/bench-oobleck.ts DIR/vae_decoder.onnx [runs] [--no-arena] [--frames N]
 *
 * One process per graph, so the peak resident size (getrusage maxrss) is that graph's alone. Session options are
 * those libs/inference opens graphs with (graphOptimizationLevel 'all', the default CPU arena); `--no-arena` turns
 * off onnxruntime's CPU arena and memory pattern, to see what they cost in peak memory; `--frames N` sets the length
 * of a dynamic-length graph (exported with --frames dynamic). Prints one JSON line.
 */
import * as ort from 'onnxruntime-node';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const noArena = args.includes('--no-arena');
  const framesAt = args.indexOf('--frames');
  const frames = framesAt >= 0 ? Number(args[framesAt + 1]) : undefined;
  const [file, runsArg] = args.filter((a, i) => a !== '--no-arena' && (framesAt < 0 || (i !== framesAt && i !== framesAt + 1)));
  if (!file) throw new Error('usage: npx tsx models/importer/bench-oobleck.ts DIR/vae_decoder.onnx [runs] [--no-arena] [--frames N]');
  const runs = Number(runsArg ?? 2);
  const options: ort.InferenceSession.SessionOptions = noArena
    ? { graphOptimizationLevel: 'all', enableCpuMemArena: false, enableMemPattern: false }
    : { graphOptimizationLevel: 'all' };

  const rssMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);
  const started = performance.now();
  const session = await ort.InferenceSession.create(file, options);
  const loadMs = Math.round(performance.now() - started);
  const loadPeakMiB = rssMiB();
  const meta = session.inputMetadata[0];
  if (!meta.isTensor) throw new Error(`${file}: the first input is not a tensor`);
  const dims = meta.shape.map((d, i) => {
    if (typeof d === 'number') return d;
    if (i === 0) return 1;
    if (frames === undefined) throw new Error(`${file}: the length is dynamic; give --frames N`);
    return frames;
  });
  const input = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < input.length; i++) input[i] = Math.sin(i * 0.37) * 0.8;

  const runMs: number[] = [];
  let outputDims: readonly number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const out = await session.run({ [meta.name]: new ort.Tensor('float32', input, dims) });
    runMs.push(Math.round(performance.now() - t));
    outputDims = out[session.outputNames[0]].dims;
  }
  await session.release();
  console.log(
    JSON.stringify({ file, arena: !noArena, input: dims, output: outputDims, load_ms: loadMs, run_ms: runMs, load_peak_rss_mib: loadPeakMiB, peak_rss_mib: rssMiB() }),
  );
}

void main();
