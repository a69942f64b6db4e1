import type { GenerationResource } from '@chorus/contracts';
import type { Generation } from '@chorus/db';

/**
 * Turns a generation row into the API's resource. `audioUrls` are the presigned URLs of its object
 * (to play, and to save as an attachment), given only when the generation succeeded. `servedModel` names the model until a worker records
 * the one that actually ran it.
 */
export function toGenerationResource(
  row: Generation,
  audioUrls?: { url: string; downloadUrl: string },
  servedModel?: { name: string; version: string },
): GenerationResource {
  const succeeded = row.status === 'succeeded' && row.outputKey !== null && audioUrls !== undefined;
  return {
    id: row.id,
    status: row.status,
    progress: row.progress,
    seed: row.seed,
    prompt: row.prompt,
    negative_prompt: row.negativePrompt,
    seconds_start: row.secondsStart,
    seconds_total: row.secondsTotal,
    steps: row.steps,
    cfg_scale: row.cfgScale,
    sampler: row.sampler,
    output_format: row.outputFormat,
    priority: row.priority,
    webhook_url: row.webhookUrl,
    batch_id: row.batchId,
    batch_index: row.batchIndex,
    model:
      row.modelName !== null
        ? { name: row.modelName, version: row.modelVersion ?? '' }
        : { name: servedModel?.name ?? '', version: servedModel?.version ?? '' },
    worker_id: row.workerId,
    attempts: row.attempts,
    audio: succeeded
      ? {
          url: audioUrls.url,
          download_url: audioUrls.downloadUrl,
          format: row.outputFormat,
          bytes: row.outputBytes ?? 0,
          seconds: row.outputSeconds ?? row.secondsTotal,
          sample_rate: row.sampleRate ?? 0,
          channels: row.channels ?? 0,
        }
      : null,
    timings_ms: {
      queue: row.queueMs,
      inference: row.inferenceMs,
      encode: row.encodeMs,
      upload: row.uploadMs,
      total: row.finishedAt ? row.finishedAt.getTime() - row.createdAt.getTime() : null,
    },
    error: row.error,
    created_at: row.createdAt.toISOString(),
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}
