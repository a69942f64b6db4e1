import { Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { generationResourceSchema, type GenerationRequestBody, type GenerationResource } from '@chorus/contracts';
import type { Response } from 'express';
import { CurrentTenant, type AuthenticatedTenant } from '../auth/authenticated-tenant';
import { GenerationsService } from '../generations/generations.service';
import { openApiSchema } from '../openapi';

@ApiTags('generations')
@ApiBearerAuth()
@Controller('v1/generations')
export class RerunController {
  constructor(private readonly generations: GenerationsService) {}

  /**
   * A new generation with the recorded parameters and resolved seed of an earlier one. The
   * sampler's noise comes from the seed alone, so on the same model version it renders the
   * same audio; the original's model version is in its record (`model.version`).
   */
  @Post(':id/rerun')
  @HttpCode(202)
  @ApiOperation({ summary: 'Repeat a generation with the same parameters and seed' })
  @ApiAcceptedResponse({ schema: openApiSchema(generationResourceSchema) })
  async rerun(
    @CurrentTenant() tenant: AuthenticatedTenant,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<GenerationResource> {
    const original = await this.generations.find(tenant, id);
    const body: GenerationRequestBody = {
      prompt: original.prompt,
      ...(original.negativePrompt !== null ? { negative_prompt: original.negativePrompt } : {}),
      seconds_start: original.secondsStart,
      seconds_total: original.secondsTotal,
      steps: original.steps,
      cfg_scale: original.cfgScale,
      sampler: original.sampler as GenerationRequestBody['sampler'],
      seed: original.seed,
      output_format: original.outputFormat as GenerationRequestBody['output_format'],
      ...(original.webhookUrl !== null ? { webhook_url: original.webhookUrl } : {}),
      // The tenant's default may have become less urgent since; a request may not be more urgent than it.
      priority: Math.max(original.priority, tenant.defaultPriority),
    };
    const { generation } = await this.generations.create(tenant, body, undefined);
    response.location(`/v1/generations/${generation.id}`);
    return generation;
  }
}
