export * from './limits';
export * from './generation-request';
