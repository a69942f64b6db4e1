export * from './queue-names';
export * from './connection';
export * from './generation-job';
export * from './generation-queue';
export * from './cancel-broadcast';
export * from './generation-events';
export * from './fair-share';
export * from './audio-seconds-quota';
