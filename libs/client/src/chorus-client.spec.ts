import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ChorusApiError } from './chorus-api-error';
import { ChorusClient } from './chorus-client';

// A real HTTP server stands in for the API, so the client's own fetch, headers and stream reading run.
let server: Server | undefined;

async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<ChorusClient> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return new ChorusClient({ baseUrl: `http://127.0.0.1:${port}/`, apiKey: 'chorus_test' });
}

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe('ChorusClient', () => {
  it('sends the API key as a bearer token and the idempotency key when given', async () => {
    const seen: IncomingMessage['headers'][] = [];
    const client = await serve((request, response) => {
      seen.push(request.headers);
      response.writeHead(202, { 'content-type': 'application/json' }).end('{"id":"g1","status":"queued"}');
    });
    await client.createGeneration({ prompt: 'x' }, { idempotencyKey: 'k-1' });
    expect(seen[0]).toMatchObject({ authorization: 'Bearer chorus_test', 'idempotency-key': 'k-1', 'content-type': 'application/json' });
  });

  it('throws ChorusApiError carrying the problem document', async () => {
    const problem = { type: 'urn:chorus:problem:not_found', title: 'Not found', status: 404, code: 'not_found', detail: 'generation g1 was not found' };
    const client = await serve((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/problem+json' }).end(JSON.stringify(problem));
    });
    const error = await client.getGeneration('g1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChorusApiError);
    expect((error as ChorusApiError).problem).toEqual(problem);
    expect((error as ChorusApiError).status).toBe(404);
    expect((error as ChorusApiError).message).toBe('Not found: generation g1 was not found');
  });

  it('describes an answer that is not a problem document, e.g. from a proxy', async () => {
    const client = await serve((_request, response) => {
      response.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>');
    });
    const error = (await client.listModels().catch((e: unknown) => e)) as ChorusApiError;
    expect(error).toBeInstanceOf(ChorusApiError);
    expect(error.problem).toMatchObject({ type: 'about:blank', status: 502, detail: '<html>Bad gateway</html>' });
  });

  it('builds list query strings and follows next_cursor across pages', async () => {
    const urls: string[] = [];
    const client = await serve((request, response) => {
      urls.push(request.url!);
      const cursor = new URL(request.url!, 'http://x').searchParams.get('cursor');
      const page = cursor ? { data: [{ id: 'b' }], next_cursor: null } : { data: [{ id: 'a' }], next_cursor: 'c1' };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page));
    });
    const ids: string[] = [];
    for await (const generation of client.iterateGenerations({ status: 'queued,running', limit: 1 })) ids.push(generation.id);
    expect(ids).toEqual(['a', 'b']);
    expect(urls).toEqual(['/v1/generations?status=queued%2Crunning&limit=1', '/v1/generations?status=queued%2Crunning&limit=1&cursor=c1']);
  });

  it('reads Server-Sent Events split across chunks and stops after the terminal status', async () => {
    let accept: string | undefined;
    const client = await serve((request, response) => {
      accept = request.headers.accept;
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const text =
        'event: status\ndata: {"id":"g1","status":"queued","progress":0}\n\n' +
        ': keep-alive\n\n' +
        'event: progress\ndata: {"id":"g1","status":"running","progress":0.5,"step":1,"steps":2}\n\n' +
        'event: status\ndata: {"id":"g1","status":"succeeded","progress":1}\n\n';
      // Byte by byte in places, to cross every boundary a network can split on.
      let offset = 0;
      const timer = setInterval(() => {
        const size = offset % 3 === 0 ? 1 : 17;
        response.write(text.slice(offset, offset + size));
        offset += size;
        if (offset >= text.length) clearInterval(timer); // the server keeps the connection open
      }, 1);
      response.on('close', () => clearInterval(timer));
    });
    const events = [];
    for await (const event of client.streamEvents('g1')) events.push(event);
    expect(accept).toBe('text/event-stream');
    expect(events).toEqual([
      { event: 'status', data: { id: 'g1', status: 'queued', progress: 0 } },
      { event: 'progress', data: { id: 'g1', status: 'running', progress: 0.5, step: 1, steps: 2 } },
      { event: 'status', data: { id: 'g1', status: 'succeeded', progress: 1 } },
    ]);
  });
});
