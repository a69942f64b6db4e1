import 'reflect-metadata';
import type { Server } from 'node:http';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { PROBLEM_CONTENT_TYPE } from '@chorus/contracts';
import express, { type ErrorRequestHandler } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule, type ApiAppOptions } from './app.module';
import type { ApiConfig } from './config/api-config';
import { setupOpenApi } from './openapi';
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
  // Our own JSON parser, so that its limit is ours and its errors become problem documents
  // (invalid JSON → 400, too large → 413) before any route sees the request.
  // A JSON batch of 10,000 rows is larger than any other body; it gets its own limit.
  app.use('/v1/batches', express.json({ limit: config.BATCH_BODY_LIMIT, type: ['application/json', 'application/*+json'], verify: verifyUtf8 }));
  app.use(express.json({ limit: config.BODY_LIMIT, type: ['application/json', 'application/*+json'], verify: verifyUtf8 }));
  app.use(bodyParserErrors);
  setupOpenApi(app);
  // SIGTERM → drain (health/http-drain.ts) → close clients → exit 0 rather than re-raising the signal.
  app.enableShutdownHooks([], { useProcessExit: true });
  return app;
}

const bodyParserErrors: ErrorRequestHandler = (error, _request, response, next) => {
  const problem = fromBodyParser(error);
  if (!problem) return next(error);
  response.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
};
