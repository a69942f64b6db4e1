import { Body, Controller, HttpCode, Param, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  OUTPUT_FORMATS,
  RERUN_FIELD_REFUSED,
  UNKNOWN_FIELD,
  fieldErrors,
  generationResourceSchema,
  rerunRequestSchema,
  type GenerationRequestBody,
  type FieldError,
  type GenerationResource,
} from '@chorus/contracts';
import type { Request, Response } from 'express';
import { CurrentTenant, type AuthenticatedTenant } from '../auth/authenticated-tenant';
import { GenerationsService } from '../generations/generations.service';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { ApiProblems, TenantRoutes, openApiSchema } from '../openapi';
import { ProblemException, validationProblem } from '../problem/problem.exception';

@ApiTags('generations')
@TenantRoutes()
@Controller('v1/generations')
export class RerunController {
  constructor(private readonly generations: GenerationsService) {}

  /**
   * A new generation with the recorded parameters and resolved seed of an earlier one. The
   * sampler's noise comes from the seed alone, so on the same model version it renders the
   * same audio; the original's model version is in its record (`model.version`). A body may
   * change what does not change the audio: output_format, priority, webhook_url.
   */
  @Post(':id/rerun')
  @HttpCode(202)
  @UseInterceptors(IdempotencyInterceptor)
  @ApiOperation({
    summary: 'Repeat a generation with the same parameters and seed',
    description: `An optional JSON body may set output_format (${OUTPUT_FORMATS.join(', ')}), priority or webhook_url for the new one; any other field is refused with 400.`,
  })
  @ApiBody({ required: false, schema: openApiSchema(rerunRequestSchema, 'input') })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Retrying with the same key returns the same generation for 24 h.' })
  @ApiAcceptedResponse({ schema: openApiSchema(generationResourceSchema) })
  @ApiOkResponse({ description: 'A replay of an earlier answer with the same Idempotency-Key', schema: openApiSchema(generationResourceSchema) })
  @ApiProblems(400, 404, 409, 413, 415)
  async rerun(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Body() rawBody: unknown,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<GenerationResource> {
    const hasContent = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
    if (hasContent && request.is(['application/json', 'application/*+json']) === false) {
      throw new ProblemException('unsupported_media_type', 415, `send the body as application/json, not ${request.headers['content-type'] ?? 'without a Content-Type'}`);
    }
    // No body at all is the plain rerun; body-parser leaves it undefined.
    const parsed = rerunRequestSchema.safeParse(rawBody ?? {});
    if (!parsed.success) {
      const unknown = (error: FieldError) => error.message === UNKNOWN_FIELD && error.field !== 'body';
      throw validationProblem(fieldErrors(parsed.error).map((error) => (unknown(error) ? { ...error, message: RERUN_FIELD_REFUSED } : error)));
    }
    const changes = parsed.data;
    const original = await this.generations.find(tenant, id);
    const body: GenerationRequestBody = {
      prompt: original.prompt,
      ...(original.negativePrompt !== null ? { negative_prompt: original.negativePrompt } : {}),
      seconds_start: original.secondsStart,
      seconds_total: original.secondsTotal,
      steps: original.steps,
      cfg_scale: original.cfgScale,
      sampler: original.sampler,
      seed: original.seed,
      output_format: changes.output_format ?? original.outputFormat,
      ...(changes.webhook_url !== undefined ? { webhook_url: changes.webhook_url } : original.webhookUrl !== null ? { webhook_url: original.webhookUrl } : {}),
      // The tenant's default may have become less urgent since; a request may not be more urgent than it.
      priority: changes.priority ?? Math.max(original.priority, tenant.defaultPriority),
    };
    const generation = await this.generations.create(tenant, body);
    response.location(`/v1/generations/${generation.id}`);
    return generation;
  }
}
