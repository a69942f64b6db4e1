import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type ApiResponseOptions } from '@nestjs/swagger';
import { z } from 'zod';

// @nestjs/swagger does not export SchemaObject from its entry point; take it from a decorator's options.
type SchemaObject = NonNullable<Extract<ApiResponseOptions, { schema?: unknown }>['schema']>;

/** The zod schemas are the one source of truth; OpenAPI gets their JSON Schema. */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): SchemaObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return json as SchemaObject;
}

/** Serves the OpenAPI document at /docs (UI) and /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Chorus')
      .setDescription(
        'A render farm for text-to-audio latent diffusion. Errors are application/problem+json documents; ' +
          'every /v1 route needs Authorization: Bearer <api key>.',
      )
      .setVersion('1')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
