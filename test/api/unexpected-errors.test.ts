import type { ProblemDocument } from '@chorus/contracts';
import { describe, expect, it } from 'vitest';
import { useApi } from './api-under-test';

// The API's database does not exist, so every lookup fails the way a real outage would.
const api = useApi('errors', { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/chorus_missing_database_for_errors_test' });

describe('an unexpected failure', () => {
  it('answers a bare 500 problem document, and logs the cause', async () => {
    const response = await fetch(`${api.url}/v1/generations`, { headers: api.auth(api.tenantA) });
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as ProblemDocument;
    expect(problem).toEqual({
      type: 'urn:chorus:problem:internal_error',
      title: 'Internal server error',
      status: 500,
      code: 'internal_error',
    });

    const errors = api.logLines.map((line) => JSON.parse(line) as { level: number; msg?: string; err?: { stack?: string } });
    const logged = errors.find((line) => line.level >= 50 && line.msg === 'unhandled error');
    expect(logged?.err?.stack).toBeTruthy();
  });
});
