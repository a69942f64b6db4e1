import { Module } from '@nestjs/common';
import { GenerationsModule } from '../generations/generations.module';
import { RerunController } from './rerun.controller';

@Module({
  imports: [GenerationsModule],
  controllers: [RerunController],
})
export class RerunModule {}
