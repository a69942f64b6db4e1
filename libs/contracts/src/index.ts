export * from './limits';
export * from './generation-request';
export * from './generation-resource';
export * from './generation-event';
export * from './problem';
export * from './validation';
export * from './config';
export * from './stats';
