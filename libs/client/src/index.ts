export * from './chorus-client';
export * from './chorus-api-error';
// Methods added to ChorusClient for the dashboard's Farm and Batches pages.
import './stats';
export * from './batches';
