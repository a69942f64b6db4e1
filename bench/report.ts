/** RESULTS.md and its charts from one run's numbers. */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { capacity, ditFlopsPerRow, flopsPerClip, GPUS, STABLE_AUDIO_OPEN_LIKE } from './capacity';
import { barChartSvg, type BarChart } from './charts';
import type { FarmResults } from './farm-bench';
import type { InferenceResult } from './inference';
import { fmt } from './stats';

export interface RunInfo {
  startedAt: Date;
  finishedAt: Date;
  loadStart: number[];
  loadEnd: number[];
  machine: string[];
  config: Record<string, string>;
  log: string[];
}

const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? '**met**' : '**not met**');

export function writeReport(dir: string, run: RunInfo, inference?: InferenceResult, farm?: FarmResults): string {
  const charts = path.join(dir, 'charts');
  mkdirSync(charts, { recursive: true });
  const chart = (file: string, spec: BarChart) => {
    writeFileSync(path.join(charts, file), barChartSvg(spec));
    return `![${spec.title}](charts/${file})`;
  };
  const L: string[] = [];
  L.push('# Chorus benchmark results', '');
  L.push(`Written by \`npm run bench\` (bench/run.ts). Run from ${run.startedAt.toISOString()} to ${run.finishedAt.toISOString()}.`, '');
  L.push('All numbers are from one run on the machine below, so compare them as ratios. The machine is shared (other', 'processes ran at the same time), which the load averages show.', '');
  L.push('## Machine', '');
  for (const line of run.machine) L.push(`- ${line}`);
  L.push(`- load average (1, 5, 15 min) at start: ${run.loadStart.map((v) => v.toFixed(2)).join(', ')}`);
  L.push(`- load average (1, 5, 15 min) at end: ${run.loadEnd.map((v) => v.toFixed(2)).join(', ')}`);
  L.push(`- settings: ${Object.keys(run.config).length ? Object.entries(run.config).map(([k, v]) => `\`${k}=${v}\``).join(', ') : 'the defaults (see bench/run.ts)'}`, '');

  const targets: Array<[string, string, string]> = [];

  if (inference) {
    const { onnx, torch } = inference;
    L.push('## 1. Inference: onnxruntime-node vs the PyTorch reference', '');
    L.push(`Model \`${inference.manifest.name}\` ${inference.manifest.version} (${inference.manifest.latent_channels} latent channels × ${inference.manifest.window_frames} frames), sampler \`${inference.sampler}\`, ${inference.steps} steps, cfg ${inference.cfgScale} (so 2·N rows per U-Net call), seconds_total ${inference.secondsTotal}.`);
    L.push('Chorus: `ModelRunner.generateBatch` (the worker\'s inference thread). Reference: `bench/torch_reference.py` calling `models/training/chorus/sampling.generate_latents` and the torch VAE with 2 threads. Step = sampling time / steps; real-time factor = N × seconds_total / wall time (text encoding + sampling + VAE decode).', '');
    L.push('| batch | Chorus ms/step | PyTorch ms/step | step speed-up | Chorus decode ms | PyTorch decode ms | Chorus RTF | PyTorch RTF | end-to-end speed-up |');
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const row of onnx) {
      const ref = torch.find((t) => t.batch === row.batch);
      L.push(`| ${row.batch} | ${fmt(row.stepMs)} | ${fmt(ref?.stepMs)} | ${ref ? fmt(ref.stepMs / row.stepMs, 2) + '×' : '—'} | ${fmt(row.decodeMs, 0)} | ${fmt(ref?.decodeMs, 0)} | ${fmt(row.realtimeFactor, 2)} | ${fmt(ref?.realtimeFactor, 2)} | ${ref ? fmt(ref.wallMs / row.wallMs, 2) + '×' : '—'} |`);
    }
    L.push('');
    L.push(chart('inference-step.svg', {
      title: 'U-Net step latency by batch (lower is better)',
      yLabel: 'ms per sampler step',
      groups: onnx.map((r) => `batch ${r.batch}`),
      series: [
        { name: 'Chorus (ORT)', values: onnx.map((r) => r.stepMs) },
        { name: 'PyTorch reference', values: onnx.map((r) => torch.find((t) => t.batch === r.batch)?.stepMs) },
      ],
    }));
    L.push('');
    L.push(chart('inference-rtf.svg', {
      title: 'Real-time factor by batch (higher is better)',
      yLabel: 'seconds of audio per second',
      groups: onnx.map((r) => `batch ${r.batch}`),
      series: [
        { name: 'Chorus (ORT)', values: onnx.map((r) => r.realtimeFactor) },
        { name: 'PyTorch reference', values: onnx.map((r) => torch.find((t) => t.batch === r.batch)?.realtimeFactor) },
      ],
      target: { value: 1, label: 'real time' },
    }));
    L.push('');
    L.push(`Reference details: \`${JSON.stringify(inference.torchInfo)}\``, '');
    const info = inference.torchInfo as Record<string, number>;
    if (info.unet_flops_per_row && onnx[0]) {
      const gflop = info.unet_flops_per_row / 1e9;
      const rows = 2 * onnx[0].batch;
      L.push(`The U-Net costs ${gflop.toFixed(3)} GFLOP per row per step (conv and linear layers counted with forward hooks on the torch model; attention products not included), ${info.unet_params?.toLocaleString('en')} parameters. At batch ${onnx[0].batch} (${rows} rows) Chorus therefore ran at ≈ ${((gflop * rows) / (onnx[0].stepMs / 1000)).toFixed(1)} GFLOP/s${onnx.at(-1) ? `, at batch ${onnx.at(-1)!.batch} at ≈ ${((gflop * 2 * onnx.at(-1)!.batch) / (onnx.at(-1)!.stepMs / 1000)).toFixed(1)} GFLOP/s` : ''}.`, '');
    }
    L.push(`A 10-second clip at the model's default ${inference.clip10.steps} steps took ${fmt(inference.clip10.wallMs, 0)} ms end to end (batch 1).`, '');
    const ratios = onnx.map((r) => torch.find((t) => t.batch === r.batch)).map((t, i) => (t ? t.stepMs / onnx[i].stepMs : Number.NaN)).filter(Number.isFinite);
    const minRatio = ratios.length ? Math.min(...ratios) : undefined;
    targets.push(['Worker inference ≥ 2.5× faster than PyTorch (per step)', minRatio === undefined ? '—' : `${fmt(minRatio, 2)}× (lowest over batches; ${ratios.map((r) => fmt(r, 2) + '×').join(', ')})`, verdict(minRatio === undefined ? undefined : minRatio >= 2.5)]);
    targets.push(['10-s clip < 10 s on 2 cores', `${fmt(inference.clip10.wallMs / 1000, 2)} s at ${inference.clip10.steps} steps`, verdict(Number.isFinite(inference.clip10.wallMs) ? inference.clip10.wallMs < 10_000 : undefined)]);
  }

  if (farm) {
    L.push(`## 2. Batching: jobs/s through one worker`, '');
    L.push(`Jobs of ${farm.job.steps} steps, seconds_total ${farm.job.seconds_total}, all submitted at once through the API; jobs/s = jobs / (last finished_at − first created_at), from Postgres.`, '');
    L.push('| WORKER_MAX_BATCH | jobs | jobs/s | failed |', '|---|---|---|---|');
    for (const r of farm.batching) L.push(`| ${r.label.replace('max batch ', '')} | ${r.jobs} | ${fmt(r.jobsPerSecond, 2)} | ${r.failed} |`);
    L.push('');
    if (farm.batching.length) {
      L.push(chart('batching.svg', { title: 'Jobs/s through one worker', yLabel: 'jobs per second', groups: farm.batching.map((r) => r.label), series: [{ name: 'jobs/s', values: farm.batching.map((r) => r.jobsPerSecond) }] }), '');
    }
    const b1 = farm.batching.find((r) => r.label === 'max batch 1');
    const b4 = farm.batching.find((r) => r.label === 'max batch 4');
    if (b1 && b4) targets.push(['Batch 4 ≥ 1.5× jobs/s of batch 1', `${fmt(b4.jobsPerSecond / b1.jobsPerSecond, 2)}×`, verdict(b4.jobsPerSecond / b1.jobsPerSecond >= 1.5)]);

    L.push('## 3. Farm overhead', '');
    L.push(`1-step jobs (seconds_total ${farm.job.seconds_total}). Overhead = finished_at − created_at − inference_ms, per job, from Postgres: it holds the API insert and queue add, the wait in the queue, BullMQ hand-over, WAV encode, S3 upload and the final row update. Each client submits, waits for its job to finish, and submits the next.`, '');
    L.push('| clients | jobs | overhead p50 ms | p95 ms | p99 ms | of which queue wait p50 / p95 ms | encode+upload p50 ms | inference p50 ms |', '|---|---|---|---|---|---|---|---|');
    for (const r of farm.overhead) L.push(`| ${r.clients} | ${r.jobs} | ${fmt(r.overhead.p50, 0)} | ${fmt(r.overhead.p95, 0)} | ${fmt(r.overhead.p99, 0)} | ${fmt(r.queue.p50, 0)} / ${fmt(r.queue.p95, 0)} | ${fmt(r.encodeUpload.p50, 0)} | ${fmt(r.inference.p50, 0)} |`);
    L.push('');
    if (farm.overhead.length) {
      L.push(chart('overhead.svg', {
        title: 'Farm overhead (submit → succeeded − inference)',
        yLabel: 'ms',
        groups: farm.overhead.map((r) => `${r.clients} client${r.clients > 1 ? 's' : ''}`),
        series: [
          { name: 'p50', values: farm.overhead.map((r) => r.overhead.p50) },
          { name: 'p95', values: farm.overhead.map((r) => r.overhead.p95) },
          { name: 'p99', values: farm.overhead.map((r) => r.overhead.p99) },
        ],
        target: { value: 25, label: 'target p50 25 ms' },
      }), '');
      const one = farm.overhead[0];
      targets.push([`Farm overhead p50 ≤ 25 ms`, `${fmt(one.overhead.p50, 0)} ms at ${one.clients} client${one.clients > 1 ? 's' : ''} (${farm.overhead.slice(1).map((r) => `${fmt(r.overhead.p50, 0)} ms at ${r.clients}`).join(', ')})`, verdict(one.overhead.p50 <= 25)]);
    }

    L.push('## 4. API: accepted submissions/s', '');
    if (farm.api) {
      const a = farm.api;
      L.push(`autocannon, ${a.connections} connections for ${a.seconds} s, against \`POST /v1/generations\` (one tenant, no worker running so only the API, Postgres and Redis are measured).`, '');
      L.push('| accepted (202) | accepted/s | non-2xx | errors | latency p50 ms | p90 ms | p99 ms | max ms |', '|---|---|---|---|---|---|---|---|');
      L.push(`| ${a.accepted} | ${fmt(a.acceptedPerSecond, 0)} | ${a.non2xx} | ${a.errors} | ${a.latencyMs.p50} | ${a.latencyMs.p90} | ${a.latencyMs.p99} | ${a.latencyMs.max} |`, '');
      targets.push(['API ≥ 1,000 submissions/s', `${fmt(a.acceptedPerSecond, 0)}/s`, verdict(a.acceptedPerSecond >= 1000)]);
    } else L.push('Not run (BENCH_API_SECONDS=0).', '');

    L.push('## 5. Scaling: worker processes', '');
    L.push('| workers | jobs | jobs/s | failed |', '|---|---|---|---|');
    for (const r of farm.scaling) L.push(`| ${r.label} | ${r.jobs} | ${fmt(r.jobsPerSecond, 2)} | ${r.failed} |`);
    L.push('');
    if (farm.scaling.length) {
      L.push(chart('scaling.svg', { title: 'Jobs/s by worker processes (2 cores)', yLabel: 'jobs per second', groups: farm.scaling.map((r) => r.label), series: [{ name: 'jobs/s', values: farm.scaling.map((r) => r.jobsPerSecond) }] }), '');
    }
  }

  L.push('## Targets', '');
  L.push('| target | measured | |', '|---|---|---|');
  for (const [t, m, v] of targets) L.push(`| ${t} | ${m} | ${v} |`);
  L.push('');

  const m = STABLE_AUDIO_OPEN_LIKE;
  L.push('## GPU capacity model (a model, not a measurement)', '');
  L.push(`Nothing here ran on a GPU. It is arithmetic from FLOPs per step, for a ${m.name}: ${m.params / 1e9} B parameters, ${m.layers} layers of width ${m.width}, ${m.tokens} latent frames (64 channels, ${m.audioSeconds} s), ${m.textTokens} T5 tokens for cross-attention, ${m.steps} steps, CFG batch ${m.cfgRows}.`, '');
  L.push(`- FLOPs per row per step ≈ 2·P·T + 4·layers·T²·d + 4·layers·T·T_text·d = ${(ditFlopsPerRow(m) / 1e12).toFixed(3)} TFLOP.`);
  L.push(`- Per clip: × ${m.cfgRows} rows × ${m.steps} steps = ${(flopsPerClip(m) / 1e12).toFixed(1)} TFLOP. The VAE decode and the T5 encode are not counted: they run once per clip, not once per step, and were not sized here.`);
  L.push('- Peak: dense BF16 tensor-core TFLOP/s from the datasheets (no sparsity). Utilisation is an assumption: a 1 B model at 430 tokens per call is small for these GPUs, so kernels are partly memory- and launch-bound; batching several clips per call (the worker\'s dynamic batcher) is what moves utilisation up.', '');
  L.push('| GPU | peak TFLOP/s | assumed utilisation | s per clip | clips/hour | real-time factor |', '|---|---|---|---|---|---|');
  for (const gpu of GPUS) {
    const c = capacity(m, gpu);
    L.push(`| ${gpu.name} | ${gpu.peakTflops} | ${(gpu.utilisation * 100).toFixed(0)} % | ${c.secondsPerClip.toFixed(2)} | ${Math.round(c.clipsPerHour).toLocaleString('en')} | ${c.realtimeFactor.toFixed(0)}× |`);
  }
  L.push('');
  if (inference) {
    const info = inference.torchInfo as Record<string, number>;
    if (info.unet_flops_per_row) {
      L.push(`For scale: the shipped chorus-tiny U-Net is ${(info.unet_flops_per_row / 1e9).toFixed(2)} GFLOP per row per step, ${(ditFlopsPerRow(m) / info.unet_flops_per_row).toFixed(0)}× less than the model above. On a GPU it would be bound by kernel launches, not FLOPs; the model above is not a prediction for it.`, '');
    }
  }
  L.push('Sanity check against published numbers: Stability AI report 95 s of audio in under a second on an A100 for Stable Audio 1.0 (a ~0.9 B U-Net, fewer latent frames per second), and about 12 s in 75 ms on an H100 for Stable Audio Open Small (~0.5 B, 8 steps). Those are other models and step counts, so they are a plausibility check only: the figures above are of the same order.', '');

  L.push('## Run log', '', '```', ...run.log, '```', '');
  const text = L.join('\n');
  writeFileSync(path.join(dir, 'RESULTS.md'), text);
  return text;
}
