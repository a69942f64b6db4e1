import { useEffect, useState } from 'react';
import type { ChorusClient } from '@chorus/client';
import type { ModelInfo } from '@chorus/contracts';
import { describeError } from './errors';

/** The served model, whose window bounds the duration slider and whose defaults fill the form. */
export function useModel(client: ChorusClient) {
  const [model, setModel] = useState<ModelInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const abort = new AbortController();
    client
      .listModels()
      .then((models) => {
        if (!abort.signal.aborted) setModel(models.data[0] ?? null);
      })
      .catch((caught: unknown) => {
        if (!abort.signal.aborted) setError(`The model list could not be loaded: ${describeError(caught).message}`);
      });
    return () => abort.abort();
  }, [client]);
  return { model, error };
}
