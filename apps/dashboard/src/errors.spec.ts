import { describe, expect, it } from 'vitest';
import { ChorusApiError } from '@chorus/client';
import { problemType } from '@chorus/contracts';
import { describeError } from './errors';

describe('describeError', () => {
  it('puts each bad field of a validation problem next to its field', () => {
    const error = new ChorusApiError({
      type: problemType('validation_error'),
      title: 'Your request is not valid',
      status: 400,
      errors: [
        { field: 'seconds_total', message: "must be <= 47.55 (the model's window)" },
        { field: 'sampler', message: 'must be one of euler, dpmpp-2m, dpmpp-3m-sde' },
      ],
    });
    const readable = describeError(error);
    expect(readable.fields).toEqual({
      seconds_total: "must be <= 47.55 (the model's window)",
      sampler: 'must be one of euler, dpmpp-2m, dpmpp-3m-sde',
    });
    expect(readable.status).toBe(400);
    expect(readable.message).toBe('Your request is not valid');
  });

  it('uses the detail of a Chorus problem as the sentence', () => {
    const error = new ChorusApiError({ type: problemType('unauthorized'), title: 'A valid API key is required', status: 401, detail: 'the API key is not valid' });
    expect(describeError(error).message).toBe('The API key is not valid');
  });

  it('collects batch row errors with their row numbers', () => {
    const error = new ChorusApiError({
      type: problemType('validation_error'),
      title: 'Your request is not valid',
      status: 400,
      errors: [{ row: 3, field: 'seconds_total', message: 'must be > 0' } as never],
    });
    expect(describeError(error).rows).toEqual([{ row: 3, field: 'seconds_total', message: 'must be > 0' }]);
  });

  it('does not show the HTML of a proxy error page, only what its status means', () => {
    const error = new ChorusApiError({ type: 'about:blank', title: 'Bad Gateway', status: 502, detail: '<html><body><h1>502 Bad Gateway</h1>nginx</body></html>' });
    const { message } = describeError(error);
    expect(message).not.toMatch(/<|nginx/);
    expect(message).toMatch(/not reachable/);
  });

  it('says the API could not be reached when fetch itself fails', () => {
    expect(describeError(new TypeError('Failed to fetch')).message).toMatch(/Could not reach the Chorus API/);
  });

  it('never shows a stack trace', () => {
    const error = new Error('boom\n    at Object.<anonymous> (/srv/app.js:1:1)\n    at Module._compile');
    const { message } = describeError(error);
    expect(message).not.toMatch(/\bat\b.*:\d+:\d+/);
    expect(message).not.toContain('\n');
  });
});
