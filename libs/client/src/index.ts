export * from './chorus-client';
export * from './chorus-api-error';
