import type { ChorusClient } from '@chorus/client';
import type { GenerationResource } from '@chorus/contracts';

const MIME_TYPES: Record<string, string> = { wav: 'audio/wav', flac: 'audio/flac', mp3: 'audio/mpeg' };

/**
 * The finished file as a Blob, so the waveform, the spectrogram, playback and download all use
 * one copy. The client asks the API for a fresh presigned URL (old ones expire) and fetches it
 * from the object store, which must allow this origin to read (bucket CORS).
 */
export async function fetchGenerationAudio(client: ChorusClient, generation: GenerationResource, signal: AbortSignal): Promise<Blob> {
  const bytes = await client.downloadAudio(generation.id);
  signal.throwIfAborted();
  const format = generation.audio?.format ?? generation.output_format;
  return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: MIME_TYPES[format] ?? 'application/octet-stream' });
}
