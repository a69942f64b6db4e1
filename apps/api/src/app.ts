import 'reflect-metadata';
import { STATUS_CODES, maxHeaderSize, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { PROBLEM_CONTENT_TYPE } from '@chorus/contracts';
import express, { type ErrorRequestHandler } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule, type ApiAppOptions } from './app.module';
import type { ApiConfig } from './config/api-config';
import { ApiMetrics } from './metrics/api-metrics';
import { httpMetrics, type RouteLayer } from './metrics/http-metrics.middleware';
import { setupOpenApi } from './openapi';
import { problemDocument } from './problem/problem.exception';
import { fromBodyParser } from './problem/problem.filter';
import { verifyUtf8 } from './validation/utf8';

export type { ApiAppOptions };

/**
 * A client must send its headers within 10 s and its whole request within 60 s, so slow clients
 * (slow-loris) cannot hold connections open for ever. Node enforces both on its 30 s connection
 * check, so a slow client is cut off 10 to 40 s after it connected.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Builds the API application, ready for `listen`. Used by main.ts, the farm script and tests,
 * so all three run the same middleware, filters and routes.
 */
export async function createApiApp(config: ApiConfig, options: ApiAppOptions = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  const server = app.getHttpServer() as Server;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.on('clientError', answerClientError);
  // First, so that every request counts, those the body parsers refuse included.
  const expressApp = app.getHttpAdapter().getInstance() as { router: { stack: RouteLayer[] } };
  app.use(httpMetrics(app.get(ApiMetrics), () => expressApp.router.stack));
  // Our own JSON parser, so that its limit is ours and its errors become problem documents
  // (invalid JSON → 400, too large → 413) before any route sees the request.
  // A JSON batch of 10,000 rows is larger than any other body; it gets its own limit.
  // strict: false, so that valid JSON that is not an object ("x", null) reaches validation, which says what is
  // expected, instead of being called unparseable.
  const json = { type: ['application/json', 'application/*+json'], verify: verifyUtf8, strict: false };
  app.use('/v1/batches', express.json({ ...json, limit: config.BATCH_BODY_LIMIT }));
  app.use(express.json({ ...json, limit: config.BODY_LIMIT }));
  app.use(bodyParserErrors);
  setupOpenApi(app);
  // SIGTERM → drain (health/http-drain.ts) → close clients → exit 0 rather than re-raising the signal.
  if (options.shutdownHooks !== false) app.enableShutdownHooks([], { useProcessExit: true });
  return app;
}

/**
 * Node answers a request it cannot parse (headers over its 16 KB limit, a timeout, broken HTTP) with
 * a bare status line; this answers the same status with a problem document saying what was wrong.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const pending = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
    socket.destroy(error);
    return;
  }
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? problemDocument('headers_too_large', 431, `the request's headers may be at most ${maxHeaderSize} bytes in all`)
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? problemDocument('request_timeout', 408, `send the headers within ${HEADERS_TIMEOUT_MS / 1000} s and the whole request within ${REQUEST_TIMEOUT_MS / 1000} s`)
        : problemDocument('validation_error', 400, 'the request is not valid HTTP/1.1');
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    // Destroyed once written, as Node's own handler does: a slow-loris client would otherwise keep its half open.
    () => socket.destroy(),
  );
}

const bodyParserErrors: ErrorRequestHandler = (error, _request, response, next) => {
  const problem = fromBodyParser(error);
  if (!problem) return next(error);
  response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
};
