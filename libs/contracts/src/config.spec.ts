import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, envBoolean, parseEnv } from './config';

describe('parseEnv', () => {
  const schema = z.object({ PORT: z.coerce.number().int().min(1).max(65535), DEBUG: envBoolean.default(false) });

  it('returns typed values for a good environment', () => {
    expect(parseEnv(schema, { PORT: '3000', DEBUG: '1' })).toEqual({ PORT: 3000, DEBUG: true });
  });

  it('names the bad variable in the error', () => {
    expect(() => parseEnv(schema, { PORT: 'abc' })).toThrow(ConfigError);
    expect(() => parseEnv(schema, { PORT: 'abc' })).toThrow(/PORT/);
  });
});
