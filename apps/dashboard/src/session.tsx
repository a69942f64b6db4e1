import { ChorusClient } from '@chorus/client';
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';

// The key lives in sessionStorage only: it is gone when the tab closes, and never written to
// localStorage, cookies or the URL.
const API_KEY_STORAGE = 'chorus.apiKey';

interface Session {
  client: ChorusClient | null;
  signIn(apiKey: string): Promise<void>;
  signOut(): void;
}

const SessionContext = createContext<Session | null>(null);

function makeClient(apiKey: string): ChorusClient {
  return new ChorusClient({ baseUrl: window.location.origin, apiKey });
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [apiKey, setApiKey] = useState<string | null>(() => sessionStorage.getItem(API_KEY_STORAGE));
  const client = useMemo(() => (apiKey ? makeClient(apiKey) : null), [apiKey]);

  const signIn = useCallback(async (candidate: string) => {
    const key = candidate.trim();
    // Ask the API once so a wrong key is reported on the sign-in form, not on the first page.
    await makeClient(key).listGenerations({ limit: 1 });
    sessionStorage.setItem(API_KEY_STORAGE, key);
    setApiKey(key);
  }, []);

  const signOut = useCallback(() => {
    sessionStorage.removeItem(API_KEY_STORAGE);
    setApiKey(null);
  }, []);

  const session = useMemo(() => ({ client, signIn, signOut }), [client, signIn, signOut]);
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
