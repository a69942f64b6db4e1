// One step of an imported dit.onnx in onnxruntime-node: session start, step times at batch 1 and 2, and (given a
// reference .npy from torch_dit_step.py) the largest difference from our torch DiT at batch 1.
//   node models/importer/dit_step.mjs DIR C L S D G [reference.npy]
// Inputs are deterministic (x, cross_attn_cond, global_cond = 0.5·sin(12.9898·i), t = 0.5), as torch_dit_step.py makes them.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const [dir, C, L, S, D, G, reference] = process.argv.slice(2).map((v, i) => (i >= 1 && i <= 5 ? Number(v) : v));
const pattern = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const feeds = (B) => ({
  x: new ort.Tensor('float32', pattern(B * C * L), [B, C, L]),
  t: new ort.Tensor('float32', new Float32Array(B).fill(0.5), [B]),
  cross_attn_cond: new ort.Tensor('float32', pattern(B * S * D), [B, S, D]),
  global_cond: new ort.Tensor('float32', pattern(B * G), [B, G]),
});
let start = performance.now();
const session = await ort.InferenceSession.create(`${dir}/dit.onnx`);
console.log(`session start ${Math.round(performance.now() - start)} ms`);
for (const B of [1, 2]) {
  start = performance.now();
  const { v } = await session.run(feeds(B));
  console.log(`batch ${B}: one step ${Math.round(performance.now() - start)} ms, v ${v.dims.join('x')}`);
  if (B === 1 && reference) {
    const buf = readFileSync(reference);
    const bytes = buf.subarray(10 + buf.readUInt16LE(8));
    const want = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      worst = Math.max(worst, Math.abs(v.data[i] - want[i]));
    }
    console.log(`max |onnx - torch| ${worst.toExponential(2)} at max |torch| ${scale.toFixed(3)} (relative ${(worst / scale).toExponential(2)})`);
  }
}
