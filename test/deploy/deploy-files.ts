import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const root = path.resolve(__dirname, '../..');
export const k8sDir = path.join(root, 'deploy/k8s');

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Manifests are checked field by field in the tests; their shapes are the Kubernetes API's.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

/** Every document of a YAML file; a syntax error, a duplicate key or a warning throws. */
export function readYamlDocuments(file: string): unknown[] {
  const text = fs.readFileSync(file, 'utf8');
  return parseAllDocuments(text, { uniqueKeys: true, merge: true }).map((doc, index) => {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) {
      throw new Error(`${path.relative(root, file)} document ${index + 1}: ${problems.map((p) => p.message).join('; ')}`);
    }
    return doc.toJS({ maxAliasCount: 100 });
  });
}

export function yamlFilesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => path.join(dir, name))
    .sort();
}

interface Kustomization {
  namespace?: string;
  resources: string[];
  labels?: { pairs: Record<string, string> }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

export function readKustomization(dir = k8sDir): Kustomization {
  const [doc] = readYamlDocuments(path.join(dir, 'kustomization.yaml'));
  return doc as Kustomization;
}

/**
 * The objects `kubectl apply -k` would send, for the subset of Kustomize this base uses
 * (resources, namespace, labels, images). Anything else in kustomization.yaml is refused, so a
 * feature added there cannot slip past these tests unrendered.
 */
export function renderKustomization(dir = k8sDir): K8sObject[] {
  const kustomization = readKustomization(dir);
  const supported = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images']);
  const unsupported = Object.keys(kustomization).filter((key) => !supported.has(key));
  if (unsupported.length > 0) throw new Error(`kustomization.yaml uses ${unsupported.join(', ')}, which these tests do not render`);

  const labels = Object.assign({}, ...(kustomization.labels ?? []).map((entry) => entry.pairs)) as Record<string, string>;
  const objects = kustomization.resources.flatMap((resource) => readYamlDocuments(path.join(dir, resource)) as K8sObject[]);
  for (const object of objects) {
    object.metadata.labels = { ...object.metadata.labels, ...labels };
    if (kustomization.namespace && object.kind !== 'Namespace') object.metadata.namespace = kustomization.namespace;
    for (const container of podContainers(object)) {
      const [name, tag] = splitImage(container.image);
      const rule = kustomization.images?.find((image) => image.name === name);
      if (rule) container.image = `${rule.newName ?? name}:${rule.newTag ?? tag}`;
    }
  }
  return objects;
}

export interface Container {
  name: string;
  image: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function podSpec(object: K8sObject): any | undefined {
  if (object.kind === 'Deployment' || object.kind === 'StatefulSet' || object.kind === 'Job') return object.spec.template.spec;
  return undefined;
}

export function podContainers(object: K8sObject): Container[] {
  const spec = podSpec(object);
  return spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
}

export function splitImage(image: string): [name: string, tag: string] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, 'latest'];
}

/** The stages of a Dockerfile: `FROM base AS name` → name → {base, instructions}. */
export function dockerfileStages(file: string): Map<string, { base: string; body: string }> {
  const text = fs.readFileSync(file, 'utf8').replace(/\\\n/g, ' ');
  const stages = new Map<string, { base: string; body: string }>();
  let current: { base: string; body: string } | undefined;
  for (const line of text.split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line.trim());
    if (from) {
      current = { base: from[1], body: '' };
      stages.set(from[2] ?? `#${stages.size}`, current);
    } else if (current && line.trim() && !line.trim().startsWith('#')) {
      current.body += `${line.trim()}\n`;
    }
  }
  return stages;
}
