import { Module } from '@nestjs/common';
import { GenerationEventStream } from './generation-event-stream';
import { GenerationsController } from './generations.controller';
import { GenerationsService } from './generations.service';

@Module({
  controllers: [GenerationsController],
  providers: [GenerationsService, GenerationEventStream],
  exports: [GenerationsService],
})
export class GenerationsModule {}
