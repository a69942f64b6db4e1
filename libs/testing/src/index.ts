// The farm as processes, and the Postgres, Redis and S3 it runs on, for test/ and bench/ alike.
// Built with the apps (tsconfig.build.json) so that bench/ can import it from dist/; no app imports it.
export * from './database';
export * from './farm-processes';
export * from './polling';
export * from './redis';
export * from './s3';
