import { applyDecorators, type INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, ApiResponse, type ApiResponseOptions } from '@nestjs/swagger';
import { ERROR_CODES, PROBLEM_CONTENT_TYPE } from '@chorus/contracts';
import { z } from 'zod';

// @nestjs/swagger does not export SchemaObject from its entry point; take it from a decorator's options.
type SchemaObject = NonNullable<Extract<ApiResponseOptions, { schema?: unknown }>['schema']>;

/** The zod schemas are the one source of truth; OpenAPI gets their JSON Schema. */
export function openApiSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): SchemaObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return json as SchemaObject;
}

const problemSchema: SchemaObject = {
  type: 'object',
  description: 'RFC 9457 problem document',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', example: 'urn:chorus:problem:validation_error' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', enum: [...ERROR_CODES] },
    errors: {
      type: 'array',
      description: 'Validation problems: every bad field and what it allows',
      items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request: `errors` names each bad field and its allowed range',
  401: 'Missing or unknown API key',
  404: "No such generation for this tenant (another tenant's answers 404 too)",
  409: "Conflicts with the generation's current status",
  413: 'Body over the size limit',
  415: 'Body is not JSON',
};

/** Documents the problem+json answers a route can give. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem', content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } }),
    ),
  );
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
      // 3.1 speaks the JSON Schema dialect that zod's toJSONSchema writes (numeric exclusiveMinimum…).
      .setOpenAPIVersion('3.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
