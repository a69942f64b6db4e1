import { createContext, useContext } from 'react';
import type { GenerationRequestBody } from '@chorus/contracts';

/** Settings handed to the Generate form by "Use these settings" anywhere in the app. */
export interface DraftState {
  draft: Partial<GenerationRequestBody> | null;
  setDraft(draft: Partial<GenerationRequestBody> | null): void;
}

export const DraftContext = createContext<DraftState>({ draft: null, setDraft: () => {} });

export const useDraft = () => useContext(DraftContext);
