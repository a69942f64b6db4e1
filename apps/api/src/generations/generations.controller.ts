import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseInterceptors } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiFoundResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import {
  GENERATION_STATUSES,
  LIST_LIMIT_DEFAULT,
  LIST_LIMIT_MAX,
  generationListSchema,
  generationRequestSchema,
  generationResourceSchema,
  listGenerationsQuerySchema,
  type GenerationList,
  type GenerationResource,
} from '@chorus/contracts';
import type { Request, Response } from 'express';
import { CurrentTenant, type AuthenticatedTenant } from '../auth/authenticated-tenant';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiProblems, TenantRoutes, openApiSchema } from '../openapi';
import { ProblemException, validationProblem } from '../problem/problem.exception';
import { parseOrThrow } from '../validation/parse';
import { GenerationEventStream } from './generation-event-stream';
import { GenerationsService } from './generations.service';

@ApiTags('generations')
@TenantRoutes()
@Controller('v1/generations')
export class GenerationsController {
  constructor(
    private readonly generations: GenerationsService,
    private readonly eventStream: GenerationEventStream,
  ) {}

  @Post()
  @HttpCode(202)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({ summary: 'Queue a generation', description: 'Defaults come from the model; the seed is chosen now when not given.' })
  @ApiBody({ schema: openApiSchema(generationRequestSchema, 'input') })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same answer for 24 h; the same key with a different body answers 409.' })
  @ApiAcceptedResponse({ description: 'Queued', schema: openApiSchema(generationResourceSchema) })
  @ApiOkResponse({ description: 'A retry with the same Idempotency-Key: the first answer again (`Idempotent-Replayed: true`)', schema: openApiSchema(generationResourceSchema) })
  @ApiProblems(400, 409, 413, 415)
  async create(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Body() body: unknown,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<GenerationResource> {
    // is() is null when there is no body (then validation says what is missing), false for another type.
    if (request.is(['application/json', 'application/*+json']) === false) {
      throw new ProblemException('unsupported_media_type', 415, `send the body as application/json, not ${request.headers['content-type'] ?? 'without a Content-Type'}`);
    }
    // A repeated Idempotency-Key is answered by the interceptor before it gets here.
    const generation = await this.generations.create(tenant, body);
    response.location(`/v1/generations/${generation.id}`);
    return generation;
  }

  @Get()
  @ApiOperation({
    summary: 'List generations, newest first',
    description: "Follow next_cursor for the next page. With batch_id, the batch's rows in row order (batch_index) instead.",
  })
  @ApiQuery({
    name: 'status',
    required: false,
    description: `One or more of ${GENERATION_STATUSES.join(', ')}, separated by commas`,
    schema: { type: 'string', example: 'queued,running' },
  })
  @ApiQuery({ name: 'q', required: false, description: 'Text the prompt contains (case-insensitive; % and _ are literal characters)', schema: { type: 'string', minLength: 1, maxLength: 200 } })
  @ApiQuery({ name: 'batch_id', required: false, description: "One batch's rows, in row order", schema: { type: 'string', format: 'uuid' } })
  @ApiQuery({ name: 'limit', required: false, description: `1 to ${LIST_LIMIT_MAX}`, schema: { type: 'integer', minimum: 1, maximum: LIST_LIMIT_MAX, default: LIST_LIMIT_DEFAULT } })
  @ApiQuery({ name: 'cursor', required: false, description: 'next_cursor of the previous page', schema: { type: 'string', maxLength: 512 } })
  @ApiOkResponse({ schema: openApiSchema(generationListSchema) })
  @ApiProblems(400)
  list(@CurrentTenant() tenant: AuthenticatedTenant, @Query() query: unknown): Promise<GenerationList> {
    return this.generations.list(tenant, parseOrThrow(listGenerationsQuerySchema, query));
  }

  @Get(':id')
  @ApiOkResponse({ schema: openApiSchema(generationResourceSchema) })
  @ApiProblems(404)
  get(@CurrentTenant() tenant: AuthenticatedTenant, @Param('id') id: string): Promise<GenerationResource> {
    return this.generations.get(tenant, id);
  }

  @Post(':id/cancel')
  @ApiOperation({
    summary: 'Cancel a generation',
    description: 'A queued generation is canceled at once (200). A running one stops between two sampler steps (202; follow its events).',
  })
  @ApiOkResponse({ description: 'Canceled now (it was queued), or already canceled', schema: openApiSchema(generationResourceSchema) })
  @ApiAcceptedResponse({ description: 'Running: asked to stop between two sampler steps; follow its events', schema: openApiSchema(generationResourceSchema) })
  @ApiProblems(404, 409)
  async cancel(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<GenerationResource> {
    const generation = await this.generations.cancel(tenant, id);
    response.status(generation.status === 'canceled' ? 200 : 202);
    return generation;
  }

  @Get(':id/events')
  @ApiOperation({
    summary: 'Follow a generation (Server-Sent Events)',
    description: 'event: status (first the current state, then each change) and event: progress (sampler steps); ends after a terminal status.',
  })
  @ApiOkResponse({ description: 'The event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiProblems(404)
  async events(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Res() response: Response,
  ): Promise<void> {
    await this.eventStream.stream(tenant, id, response);
  }

  @Get(':id/audio')
  @ApiOperation({
    summary: 'Redirect to the audio file (a short-lived presigned URL)',
    description: 'With download=1 the store answers Content-Disposition: attachment; filename="<id>.<format>", so a browser saves the file.',
  })
  @ApiQuery({ name: 'download', required: false, enum: ['0', '1'], description: '1: save as a file (attachment) rather than play' })
  @ApiFoundResponse({ description: 'Location is the presigned URL' })
  @ApiProblems(400, 404, 409)
  async audio(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Query('download') download: unknown,
    @Res() response: Response,
  ): Promise<void> {
    if (download !== undefined && download !== '0' && download !== '1') {
      throw validationProblem([{ field: 'download', message: `must be 1 (save as a file) or 0 (play), got ${JSON.stringify(download)}` }]);
    }
    response.redirect(302, await this.generations.audioUrl(tenant, id, download === '1'));
  }
}
