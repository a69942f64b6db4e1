/** ONNX sessions, one per graph, through onnxruntime-node. Only the inference thread serves them. */
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from './errors';
import { MANIFEST_FILE, graphSpecs, readManifest, type GraphSpec, type ModelManifest } from './manifest';

export type ExecutionProviderName = 'cpu' | 'cuda';

/** Creates the session for one graph and checks its names against the manifest. */
export async function openGraph(
  modelDir: string,
  spec: GraphSpec,
  options: ort.InferenceSession.SessionOptions,
): Promise<ort.InferenceSession> {
  const file = path.join(path.resolve(modelDir), spec.file);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', ...options });
  } catch (error) {
    throw new ModelLoadError(`${file}: cannot load the ONNX graph (${oneLine(error)})`, file);
  }
  try {
    checkGraphNames(modelDir, spec, session);
  } catch (error) {
    await session.release();
    throw error;
  }
  return session;
}

/** The declared element type of a graph input, so masks can be fed as the graph wants them. */
export function inputType(session: ort.InferenceSession, name: string): ort.Tensor.Type | undefined {
  const meta = session.inputMetadata.find((m) => m.name === name);
  return meta && meta.isTensor ? meta.type : undefined;
}

export function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').map((l) => l.trim()).filter(Boolean).join(' ').slice(0, 400);
}

/**
 * Compares a graph's real input and output names with what the manifest says. Every manifest name
 * must exist, and every graph input must be fed by one.
 */
export function checkGraphNames(dir: string, spec: GraphSpec, graph: { inputNames: readonly string[]; outputNames: readonly string[] }): void {
  const where = path.join(path.resolve(dir), spec.file);
  for (const [role, name] of Object.entries(spec.inputs)) {
    if (!graph.inputNames.includes(name)) {
      throw new ModelLoadError(
        `${where}: ${MANIFEST_FILE} ${spec.key}.inputs.${role} is "${name}", but the graph's inputs are ${list(graph.inputNames)}`,
        where,
      );
    }
  }
  const fed = new Set(Object.values(spec.inputs));
  const unfed = graph.inputNames.filter((n) => !fed.has(n));
  if (unfed.length > 0) {
    throw new ModelLoadError(`${where}: graph input ${list(unfed)} is not named in ${MANIFEST_FILE} ${spec.key}.inputs`, where);
  }
  for (const [role, name] of Object.entries(spec.outputs)) {
    if (!graph.outputNames.includes(name)) {
      throw new ModelLoadError(
        `${where}: ${MANIFEST_FILE} ${spec.key}.outputs.${role} is "${name}", but the graph's outputs are ${list(graph.outputNames)}`,
        where,
      );
    }
  }
}

/**
 * `readManifest`, then opens each graph once on the CPU to check its input and output names
 * against the manifest, and releases it. Use it where a model must be vetted without serving it.
 */
export async function loadManifest(modelDir: string): Promise<ModelManifest> {
  const manifest = await readManifest(modelDir);
  for (const spec of graphSpecs(manifest)) {
    const session = await openGraph(modelDir, spec, { executionProviders: ['cpu'] });
    await session.release();
  }
  return manifest;
}

function list(names: readonly string[]): string {
  return `[${names.map((n) => `"${n}"`).join(', ')}]`;
}
