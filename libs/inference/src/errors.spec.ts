import { describe, expect, it } from 'vitest';
import { AbortError, ExecutionProviderError, InvalidRequestError, ModelLoadError, deserializeError, serializeError } from './errors';

/** Errors cross from the inference thread to the caller as plain data (structured clone). */
const roundTrip = (error: unknown) => deserializeError(structuredClone(serializeError(error)));

describe('errors across the thread boundary', () => {
  it('keep their class, message and fields', () => {
    const invalid = roundTrip(new InvalidRequestError('secondsTotal', 'a number > 0 and <= 11.88', 20));
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect(invalid).toMatchObject({ field: 'secondsTotal', allowed: 'a number > 0 and <= 11.88', received: 20 });
    expect(invalid.message).toBe('secondsTotal must be a number > 0 and <= 11.88, got 20');

    const load = roundTrip(new ModelLoadError('/m/unet.onnx: missing', '/m/unet.onnx'));
    expect(load).toBeInstanceOf(ModelLoadError);
    expect(load).toMatchObject({ message: '/m/unet.onnx: missing', path: '/m/unet.onnx' });

    expect(roundTrip(new ExecutionProviderError('no CUDA'))).toBeInstanceOf(ExecutionProviderError);
  });

  it("an abort stays an error named 'AbortError'", () => {
    const aborted = roundTrip(new AbortError());
    expect(aborted).toBeInstanceOf(AbortError);
    expect(aborted.name).toBe('AbortError');
  });

  it('anything else keeps its name and message', () => {
    const other = roundTrip(new RangeError('out of range'));
    expect(other).toMatchObject({ name: 'RangeError', message: 'out of range' });
    expect(roundTrip('a string')).toMatchObject({ name: 'Error', message: 'a string' });
  });
});
