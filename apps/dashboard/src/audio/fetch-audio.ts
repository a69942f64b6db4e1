import type { ChorusClient } from '@chorus/client';
import type { GenerationResource } from '@chorus/contracts';

const MIME_TYPES: Record<string, string> = { wav: 'audio/wav', flac: 'audio/flac', mp3: 'audio/mpeg' };

/** The object store could not be read from this page; the message says what to fix. */
export class AudioStoreError extends Error {
  override name = 'AudioStoreError';

  constructor(
    message: string,
    /** The presigned URL that was refused. */
    readonly url: string,
    /** The browser blocked the read (no CORS rule), though an <audio> element may still play it. */
    readonly blocked: boolean,
    /** The same object as an attachment: following it saves the file, CORS or not. */
    readonly downloadUrl: string,
  ) {
    super(message);
  }
}

/**
 * The finished file as a Blob, so the waveform, the spectrogram, playback and download all use
 * one copy. Fresh presigned URLs come from the API (old ones expire); the bytes come from the
 * object store, which must let this origin read them (bucket CORS).
 */
export async function fetchGenerationAudio(client: ChorusClient, generation: GenerationResource, signal: AbortSignal): Promise<Blob> {
  const { audio, status } = await client.getGeneration(generation.id);
  signal.throwIfAborted();
  if (!audio) throw new AudioStoreError(`generation ${generation.id} is ${status} and has no audio`, '', false, '');
  let response: Response;
  try {
    response = await fetch(audio.url, { signal });
  } catch (error) {
    if (signal.aborted) throw error;
    // A network error from a cross-origin GET is, in practice, a bucket without a CORS rule for us.
    throw new AudioStoreError(
      `the object store did not let this page read the file. Its bucket needs a CORS rule allowing GET from ${window.location.origin}.`,
      audio.url,
      true,
      audio.download_url,
    );
  }
  if (!response.ok) throw new AudioStoreError(`the object store answered ${response.status} ${response.statusText}`.trim(), audio.url, false, audio.download_url);
  return new Blob([await response.arrayBuffer()], { type: MIME_TYPES[audio.format] ?? 'application/octet-stream' });
}
