import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { stringify } from 'csv-stringify/sync';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { LIMITS, batchResourceSchema, generationRequestSchema, type BatchManifestLine, type BatchResource } from '@chorus/contracts';
import { CurrentTenant, type AuthenticatedTenant } from '../auth/authenticated-tenant';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiProblems, ApiRequestContent, TenantRoutes, openApiSchema } from '../openapi';
import { ProblemException, validationProblem } from '../problem/problem.exception';
import { parseOrThrow } from '../validation/parse';
import { rowsFromCsv, rowsFromItems, rowsFromJsonl, type ParsedRows } from './batch-rows';
import { BATCH_MAX_ROWS, BatchesService, type BatchOptions } from './batches.service';
import { BATCH_FILE_FIELD, BATCH_UPLOAD_LIMIT_BYTES, CSV_TYPES, JSONL_TYPES } from './batch-upload';
import { BatchUploadProblems } from './batch-upload-problems';

const jsonBatchSchema = z
  .object({
    items: z.array(z.unknown()),
    webhook_url: z.string().optional(),
    priority: z.number().int('must be an integer').optional(),
  })
  .strict();

/**
 * Batch-level options of an upload (multipart fields or query parameters): text, so converted.
 * Anything else is refused, not ignored.
 */
const uploadOptionsSchema = z
  .object({
    webhook_url: z.string().min(1).optional(),
    priority: z
      .string()
      .regex(/^\d+$/, 'must be an integer')
      .transform(Number)
      .optional(),
  })
  .strict();

/** A multipart form's options, given as form fields or query parameters (not both for one option). */
function uploadOptions(fields: unknown, query: unknown): z.output<typeof uploadOptionsSchema> {
  const fromForm = parseOrThrow(uploadOptionsSchema, { ...(fields as object) });
  const fromQuery = parseOrThrow(uploadOptionsSchema, query, 'query');
  const twice = Object.keys(fromQuery).filter((key) => key in fromForm);
  if (twice.length) throw validationProblem(twice.map((key) => ({ field: key, message: 'is given both as a form field and in the query string: give it once' })));
  return { ...fromQuery, ...fromForm };
}

interface UploadedBatchFile {
  buffer: Buffer;
  originalname: string;
  mimetype: string;
}

/** The body of a batch in each media type it may come in (the rows themselves are generation bodies). */
const BATCH_REQUEST_CONTENT = {
  'application/json': { schema: openApiSchema(jsonBatchSchema.extend({ items: z.array(generationRequestSchema) }), 'input') },
  ...Object.fromEntries(
    [...CSV_TYPES, ...JSONL_TYPES].map((type) => [
      type,
      { schema: { type: 'string', description: (CSV_TYPES as readonly string[]).includes(type) ? 'CSV with a header row of generation fields' : 'One generation body (JSON) per line' } },
    ]),
  ),
  'multipart/form-data': {
    schema: {
      type: 'object',
      required: [BATCH_FILE_FIELD],
      additionalProperties: false,
      properties: {
        [BATCH_FILE_FIELD]: { type: 'string', contentMediaType: 'application/octet-stream', description: 'The batch file: .csv, or .jsonl / .ndjson' },
        webhook_url: { type: 'string' },
        priority: { type: 'string', pattern: '^\\d+$' },
      },
    },
  },
};

const MANIFEST_CONTENT = {
  'application/x-ndjson': { schema: { type: 'string', description: 'One JSON object per row: row, id, status, params, seed, model, audio, error' } },
  'text/csv': { schema: { type: 'string' } },
} as const;

@ApiTags('batches')
@TenantRoutes()
@Controller('v1/batches')
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @HttpCode(202)
  @UseInterceptors(BatchUploadProblems, FileInterceptor(BATCH_FILE_FIELD, { limits: { fileSize: BATCH_UPLOAD_LIMIT_BYTES, files: 1 } }), IdempotencyInterceptor)
  @ApiOperation({
    summary: 'Submit a batch of generations',
    description:
      `Up to ${BATCH_MAX_ROWS} rows with the fields of a generation body, as JSON {items, webhook_url?, priority?}, ` +
      'as text/csv (a header row of field names) or application/x-ndjson (one object per line), or as a multipart upload ' +
      `(field "${BATCH_FILE_FIELD}", .csv or .jsonl). Every row is checked first: one bad row answers 400 listing each bad ` +
      'row and field, and creates nothing. For CSV/JSONL bodies, webhook_url and priority are query parameters (or multipart fields).',
  })
  @ApiRequestContent(BATCH_REQUEST_CONTENT)
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same batch for 24 h.' })
  @ApiQuery({ name: 'webhook_url', required: false, description: 'CSV, JSONL or multipart only (a JSON batch has it in its body)', schema: { type: 'string' } })
  @ApiQuery({
    name: 'priority',
    required: false,
    description: `Default priority of rows that give none, ${LIMITS.priorityMin} to ${LIMITS.priorityMax}; CSV, JSONL or multipart only`,
    schema: { type: 'integer', minimum: LIMITS.priorityMin, maximum: LIMITS.priorityMax },
  })
  @ApiAcceptedResponse({ description: 'The batch: id, status, total, counts by status', schema: openApiSchema(batchResourceSchema) })
  @ApiOkResponse({ description: 'A retry with the same Idempotency-Key: the first answer again', schema: openApiSchema(batchResourceSchema) })
  @ApiProblems(400, 409, 413, 415)
  async create(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Body() body: unknown,
    @Query() query: unknown,
    @UploadedFile() file: UploadedBatchFile | undefined,
  ): Promise<BatchResource> {
    let parsed: ParsedRows;
    let options: BatchOptions;
    if (file) {
      const fields = uploadOptions(body, query);
      options = { webhookUrl: fields.webhook_url, priority: fields.priority };
      if (!isUtf8(file.buffer)) {
        throw validationProblem([{ field: BATCH_FILE_FIELD, message: 'must be UTF-8 text: it holds bytes that are not valid UTF-8' }]);
      }
      const text = file.buffer.toString('utf8');
      parsed = isJsonl(file.originalname, file.mimetype) ? rowsFromJsonl(text) : await rowsFromCsv(text);
    } else if (request.is('multipart/form-data')) {
      throw validationProblem([{ field: BATCH_FILE_FIELD, message: 'is required: a multipart batch carries its .csv or .jsonl file in this field' }]);
    } else if (request.is(['application/json', 'application/*+json'])) {
      const ignored = Object.keys(query as object);
      if (ignored.length) {
        throw validationProblem(
          ignored.map((key) => ({ field: `query.${key}`, message: 'is not taken with a JSON batch: put webhook_url and priority in the body' })),
        );
      }
      const json = parseOrThrow(jsonBatchSchema, body);
      options = { webhookUrl: json.webhook_url, priority: json.priority };
      parsed = rowsFromItems(json.items);
    } else if (typeof body === 'string' && request.is([...CSV_TYPES, ...JSONL_TYPES])) {
      const fields = parseOrThrow(uploadOptionsSchema, query, 'query');
      options = { webhookUrl: fields.webhook_url, priority: fields.priority };
      parsed = request.is([...JSONL_TYPES]) ? rowsFromJsonl(body) : await rowsFromCsv(body);
    } else {
      throw new ProblemException(
        'unsupported_media_type',
        415,
        `send the batch as application/json, text/csv, application/x-ndjson or multipart/form-data, not ${request.headers['content-type'] ?? 'no content type'}`,
      );
    }
    const batch = await this.batches.create(tenant, parsed, options);
    response.location(`/v1/batches/${batch.id}`);
    return batch;
  }

  @Get(':id')
  @ApiOkResponse({ description: 'The batch with counts of its generations by status', schema: openApiSchema(batchResourceSchema) })
  @ApiProblems(404)
  get(@CurrentTenant() tenant: AuthenticatedTenant, @Param('id') id: string): Promise<BatchResource> {
    return this.batches.get(tenant, id);
  }

  @Get(':id/manifest')
  @ApiOperation({
    summary: 'Stream the manifest: one line per row',
    description: 'JSON Lines by default: row, id, status, params, seed, model, audio {url (presigned), key, format, bytes, seconds}, error. ?format=csv gives a CSV whose text cells are escaped against formula injection.',
  })
  @ApiQuery({ name: 'format', required: false, enum: ['jsonl', 'csv'] })
  @ApiOkResponse({ description: 'The manifest, streamed', content: MANIFEST_CONTENT })
  @ApiProblems(400, 404)
  async manifest(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Query('format') format: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const asCsv = parseOrThrow(z.enum(['jsonl', 'csv']).default('jsonl'), format, 'query.format') === 'csv';
    const lines = this.batches.manifest(tenant, id);
    // The first read answers 404 for an unknown batch, before any byte of the stream is sent.
    let next = await lines.next();
    response.status(200).type(asCsv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    response.setHeader('content-disposition', `inline; filename="batch-${id}.${asCsv ? 'csv' : 'jsonl'}"`);
    if (asCsv) await write(response, stringify([MANIFEST_CSV_COLUMNS]));
    for (; !next.done; next = await lines.next()) {
      await write(response, asCsv ? csvLine(next.value) : `${JSON.stringify(next.value)}\n`);
    }
    response.end();
  }

  @Post(':id/cancel')
  @ApiOperation({
    summary: 'Cancel what has not finished',
    description:
      'Queued rows end at once; running ones stop between two sampler steps. 200 when the batch is canceled now (or was already), ' +
      "202 while running rows are stopping (status canceling), 409 when it had already completed, as for a generation's cancel.",
  })
  @ApiOkResponse({ description: 'Canceled now, or already canceled', schema: openApiSchema(batchResourceSchema) })
  @ApiAcceptedResponse({ description: 'Running rows are stopping (status canceling)', schema: openApiSchema(batchResourceSchema) })
  @ApiProblems(404, 409)
  async cancel(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<BatchResource> {
    const batch = await this.batches.cancel(tenant, id);
    response.status(batch.status === 'canceling' ? 202 : 200);
    return batch;
  }
}

async function write(response: Response, chunk: string): Promise<void> {
  if (!response.write(chunk)) await once(response, 'drain');
}

function isJsonl(fileName: string, mimeType: string): boolean {
  return /\.(jsonl|ndjson)$/i.test(fileName) || (JSONL_TYPES as readonly string[]).includes(mimeType);
}

const MANIFEST_CSV_COLUMNS = [
  'row', 'id', 'status', 'prompt', 'negative_prompt', 'seconds_start', 'seconds_total', 'steps', 'cfg_scale',
  'sampler', 'seed', 'output_format', 'model_version', 'audio_url', 'audio_key', 'bytes', 'error',
];

function csvLine(line: BatchManifestLine): string {
  const { params } = line;
  return stringify([
    [
      line.row, line.id, line.status, params.prompt, params.negative_prompt, params.seconds_start, params.seconds_total,
      params.steps, params.cfg_scale, params.sampler, line.seed, params.output_format, line.model.version,
      line.audio?.url ?? null, line.audio?.key ?? null, line.audio?.bytes ?? null, line.error,
    ].map(spreadsheetSafe),
  ]);
}

/**
 * A text cell a spreadsheet would run as a formula (=, +, -, @, tab, carriage return first) gets
 * a leading apostrophe, as OWASP advises: the text reads the same and is never evaluated.
 */
export function spreadsheetSafe(cell: string | number | null): string | number | null {
  return typeof cell === 'string' && /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}
