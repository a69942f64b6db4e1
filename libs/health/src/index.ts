export * from './dependency-probes';
export * from './health-answer';
