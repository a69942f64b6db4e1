import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ApiProbes } from './api-probes';
import { HealthController } from './health.controller';
import { HttpDrain } from './http-drain';

/** `GET /health/live`, `GET /health/ready`, and the HTTP drain on SIGTERM that readiness reports. */
@Module({
  // Terminus would log every failed probe as an error; readiness flips are the probes' job to report.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ApiProbes, HttpDrain],
})
export class HealthModule {}
