import { applyDecorators, type INestApplication } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, DocumentBuilder, SwaggerModule, ApiResponse, type ApiResponseOptions } from '@nestjs/swagger';
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
  401: 'Missing or unknown API key (`WWW-Authenticate: Bearer`)',
  404: "Not found for this tenant (another tenant's resource answers 404 too)",
  409: "Conflicts with the resource's current status, or an Idempotency-Key reused with another request or still in progress",
  413: 'Body over the size limit',
  415: 'Body is not of an accepted media type, charset or Content-Encoding',
  429: 'Rate limit or quota reached (`Retry-After` says when to retry)',
  503: 'The database is out of reach for the moment (`Retry-After`)',
};

/** Documents the problem+json answers a route can give. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem', content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } } }),
    ),
  );
}

/** The security scheme's name in the document; `@ApiBearerAuth(API_KEY_SCHEME)` refers to it. */
export const API_KEY_SCHEME = 'bearer';

/**
 * A controller whose routes belong to a tenant (`/v1`): the API key, and the problems any such
 * route can answer (no or a bad key, the request rate or quota, the database out of reach).
 */
export function TenantRoutes(): ClassDecorator {
  return applyDecorators(ApiBearerAuth(API_KEY_SCHEME), ApiProblems(401, 429, 503));
}

const REQUEST_CONTENT = 'x-chorus-request-content';

/**
 * A request body with a schema per media type (a batch is JSON, CSV, JSONL or a multipart upload),
 * which @nestjs/swagger's ApiBody cannot say; setupOpenApi moves it into the operation's requestBody.
 */
export function ApiRequestContent(content: Record<string, { schema: SchemaObject }>, description?: string): MethodDecorator {
  return ApiExtension(REQUEST_CONTENT, { content, ...(description ? { description } : {}) });
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
      // Not addBearerAuth(): it declares bearerFormat JWT, and the keys are opaque (chorus_…), not JWTs.
      .addSecurity(API_KEY_SCHEME, { type: 'http', scheme: 'bearer', description: 'A Chorus API key (chorus_…) from `chorus tenants create`' })
      .build(),
  );
  for (const operations of Object.values(document.paths)) {
    for (const operation of Object.values(operations) as Record<string, unknown>[]) {
      if (typeof operation !== 'object' || operation === null || !(REQUEST_CONTENT in operation)) continue;
      const { content, description } = operation[REQUEST_CONTENT] as { content: unknown; description?: string };
      operation.requestBody = { required: true, content, ...(description ? { description } : {}) };
      delete operation[REQUEST_CONTENT];
    }
  }
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
