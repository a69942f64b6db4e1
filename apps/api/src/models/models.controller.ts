import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { OUTPUT_FORMATS, modelListSchema, type ModelList } from '@chorus/contracts';
import { TenantRoutes, openApiSchema } from '../openapi';
import { ModelCatalog } from './served-model';

@ApiTags('models')
@TenantRoutes()
@Controller('v1/models')
export class ModelsController {
  constructor(private readonly catalog: ModelCatalog) {}

  @Get()
  @ApiOkResponse({ description: 'The models this farm serves', schema: openApiSchema(modelListSchema) })
  list(): ModelList {
    const { model } = this.catalog;
    return {
      data: [
        {
          name: model.name,
          version: model.version,
          sample_rate: model.sampleRate,
          channels: model.channels,
          window_seconds: model.windowSeconds,
          seconds_total_min: model.secondsTotalMin,
          seconds_start_max: model.secondsStartMax,
          defaults: { steps: model.defaults.steps, sampler: model.defaults.sampler, cfg_scale: model.defaults.cfgScale },
          samplers: [...model.samplers],
          output_formats: [...OUTPUT_FORMATS],
        },
      ],
    };
  }
}
