export * from './limits';
export * from './generation-request';
export * from './config';
