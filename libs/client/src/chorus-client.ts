// Runs in browsers too (the dashboard uses it): fetch, URL and TextDecoder only, nothing from Node.
import {
  isProblemDocument,
  isTerminalStatus,
  type GenerationEvent,
  type GenerationEventName,
  type GenerationList,
  type GenerationRequestBody,
  type GenerationResource,
  type ListGenerationsQuery,
  type ModelList,
} from '@chorus/contracts';
import { createParser } from 'eventsource-parser';
import { ChorusApiError } from './chorus-api-error';

export interface ChorusClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:3000`. */
  baseUrl: string;
  apiKey: string;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
}

export interface CreateGenerationOptions {
  /** Sent as `Idempotency-Key`: the same key returns the same generation instead of a new one. */
  idempotencyKey?: string;
}

export interface StreamEventsOptions {
  signal?: AbortSignal;
}

/** One Server-Sent Event of `GET /v1/generations/:id/events`. */
export interface GenerationStreamEvent {
  event: GenerationEventName;
  data: GenerationEvent;
}

/** A typed client for the Chorus HTTP API. Errors throw `ChorusApiError` carrying the problem document. */
export class ChorusClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ChorusClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Bound, because browsers reject fetch called with another `this`.
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  createGeneration(body: GenerationRequestBody, options: CreateGenerationOptions = {}): Promise<GenerationResource> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    return this.json('POST', '/v1/generations', { body: JSON.stringify(body), headers });
  }

  getGeneration(id: string): Promise<GenerationResource> {
    return this.json('GET', `/v1/generations/${encodeURIComponent(id)}`);
  }

  listGenerations(query: Partial<Record<keyof ListGenerationsQuery, string | number>> = {}): Promise<GenerationList> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    const search = params.size > 0 ? `?${params}` : '';
    return this.json('GET', `/v1/generations${search}`);
  }

  /** Async iteration over every page of `listGenerations`, following `next_cursor`. */
  async *iterateGenerations(query: Omit<Parameters<ChorusClient['listGenerations']>[0] & object, 'cursor'> = {}): AsyncGenerator<GenerationResource> {
    let cursor: string | null = null;
    do {
      const page: GenerationList = await this.listGenerations(cursor ? { ...query, cursor } : query);
      yield* page.data;
      cursor = page.next_cursor;
    } while (cursor);
  }

  cancelGeneration(id: string): Promise<GenerationResource> {
    return this.json('POST', `/v1/generations/${encodeURIComponent(id)}/cancel`);
  }

  listModels(): Promise<ModelList> {
    return this.json('GET', '/v1/models');
  }

  /**
   * A fresh presigned URL of a finished generation's audio (short-lived; ask again when it
   * expires), from the generation itself: browsers' fetch cannot read a redirect's Location.
   */
  async audioUrl(id: string): Promise<string> {
    const generation = await this.getGeneration(id);
    if (!generation.audio) {
      throw new ChorusApiError({
        type: 'urn:chorus:problem:audio_not_ready',
        title: 'The generation has no audio',
        status: 409,
        detail: `generation ${id} is ${generation.status}`,
        code: 'audio_not_ready',
      });
    }
    return generation.audio.url;
  }

  /** Downloads a finished generation's audio file. The presigned URL is fetched without the API key. */
  async downloadAudio(id: string): Promise<Uint8Array> {
    const url = await this.audioUrl(id);
    const response = await this.fetchImpl(url);
    if (!response.ok) {
      throw new ChorusApiError({
        type: 'about:blank',
        title: 'Downloading the audio failed',
        status: response.status,
        detail: `object store answered ${response.status}`,
      });
    }
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * Follows a generation over Server-Sent Events: the current state first, then progress and
   * status changes; the iteration ends after a terminal status. Uses fetch rather than
   * EventSource so that the Authorization header can be sent.
   */
  async *streamEvents(id: string, options: StreamEventsOptions = {}): AsyncGenerator<GenerationStreamEvent> {
    const response = await this.request('GET', `/v1/generations/${encodeURIComponent(id)}/events`, {
      headers: { accept: 'text/event-stream' },
      signal: options.signal,
    });
    if (!response.body) return;
    const queue: GenerationStreamEvent[] = [];
    const parser = createParser({
      onEvent: (message) => {
        if (message.event !== 'status' && message.event !== 'progress') return;
        queue.push({ event: message.event, data: JSON.parse(message.data) as GenerationEvent });
      },
    });
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
        while (queue.length > 0) {
          const next = queue.shift()!;
          yield next;
          if (next.event === 'status' && isTerminalStatus(next.data.status)) return;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  /** Resolves with the generation once it has reached a terminal status, following SSE. */
  async waitForGeneration(id: string, onEvent?: (event: GenerationStreamEvent) => void): Promise<GenerationResource> {
    for await (const event of this.streamEvents(id)) onEvent?.(event);
    return this.getGeneration(id);
  }

  private async json<T>(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}): Promise<T> {
    const response = await this.request(method, path, init);
    return (await response.json()) as T;
  }

  private async request(
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const response = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      body: init.body,
      signal: init.signal,
      headers: { accept: 'application/json', ...init.headers, authorization: `Bearer ${this.options.apiKey}` },
    });
    if (response.ok) return response;
    throw new ChorusApiError(await readProblem(response));
  }
}

async function readProblem(response: Response): Promise<ConstructorParameters<typeof ChorusApiError>[0]> {
  const text = await response.text();
  try {
    const body: unknown = JSON.parse(text);
    if (isProblemDocument(body)) return body;
  } catch {
    // not JSON: a proxy or load balancer answered; describe it below
  }
  return { type: 'about:blank', title: response.statusText || 'Request failed', status: response.status, detail: text.slice(0, 500) };
}
