export * from './signature';
export * from './address-policy';
export * from './webhook-url';
export * from './webhook-post';
export * from './webhook-events';
export * from './webhook-queue';
export * from './webhook-deliverer';
export * from './outcome-notifier';
