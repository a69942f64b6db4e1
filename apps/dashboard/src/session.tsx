import { ChorusClient } from '@chorus/client';
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

// The key lives in sessionStorage only: it is gone when the tab closes, and never written to
// localStorage, cookies or the URL.
const API_KEY_STORAGE = 'chorus.apiKey';

const KEY_REFUSED = 'The API refused this session’s key (revoked or replaced). Sign in again with a valid key.';

interface Session {
  client: ChorusClient | null;
  /** Why the last session ended, when it did not end by "Sign out". */
  notice: string | null;
  signIn(apiKey: string): Promise<void>;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

/**
 * A client for the key; `onRefused` runs when the API answers 401, so a key revoked mid-session
 * ends the session instead of leaving every page showing the same error.
 */
function makeClient(apiKey: string, onRefused?: () => void): ChorusClient {
  const fetchAndWatch: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (response.status === 401) onRefused?.();
    return response;
  };
  return new ChorusClient({ baseUrl: window.location.origin, apiKey, fetch: fetchAndWatch });
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState<string | null>(() => sessionStorage.getItem(API_KEY_STORAGE));
  const [notice, setNotice] = useState<string | null>(null);

  const endSession = useCallback((reason: string | null) => {
    // Everything the tab remembered (the key, recent submissions and batches) belonged to this
    // tenant; the next key may be another's.
    sessionStorage.clear();
    setApiKey(null);
    setNotice(reason);
  }, []);

  const client = useMemo(() => (apiKey ? makeClient(apiKey, () => endSession(KEY_REFUSED)) : null), [apiKey, endSession]);

  const signIn = useCallback(async (candidate: string) => {
    const key = candidate.trim();
    // Ask the API once so a wrong key is reported on the sign-in form, not on the first page.
    await makeClient(key).listGenerations({ limit: 1 });
    sessionStorage.setItem(API_KEY_STORAGE, key);
    setNotice(null);
    setApiKey(key);
  }, []);

  const signOut = useCallback(() => endSession(null), [endSession]);

  const session = useMemo(() => ({ client, notice, signIn, signOut }), [client, notice, signIn, signOut]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** The signed-in client; pages behind sign-in only. */
export function useClient(): ChorusClient {
  const { client } = useSession();
  if (!client) throw new Error('useClient before sign-in');
  return client;
}
