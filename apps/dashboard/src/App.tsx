import { useEffect, useRef, useState, type ReactNode } from 'react';
import type { GenerationRequestBody } from '@chorus/contracts';
import { DraftContext } from './draft';
import { BatchesPage } from './pages/BatchesPage';
import { FarmPage } from './pages/FarmPage';
import { GeneratePage } from './pages/GeneratePage';
import { HistoryPage } from './pages/HistoryPage';
import { SignInPage } from './pages/SignInPage';
import { Link, navigate, useLocation } from './router';
import { SessionProvider, useSession } from './session';

const PAGES = [
  { path: '/generate', title: 'Generate' },
  { path: '/history', title: 'History' },
  { path: '/batches', title: 'Batches' },
  { path: '/farm', title: 'Farm' },
] as const;

export function App() {
  return (
    <SessionProvider>
      <Shell />
    </SessionProvider>
  );
}

function Shell() {
  const { client, signOut } = useSession();
  const { path } = useLocation();
  const [draft, setDraft] = useState<Partial<GenerationRequestBody> | null>(null);
  const page = PAGES.find((candidate) => candidate.path === path);

  useEffect(() => {
    if (client && (path === '/' || path === '/sign-in')) navigate('/generate', { replace: true });
  }, [client, path]);
  useEffect(() => {
    document.title = client ? `${page?.title ?? 'Not found'} · Chorus` : 'Sign in · Chorus';
  }, [client, page]);

  if (!client) return <SignInPage />;

  return (
    <DraftContext.Provider value={{ draft, setDraft }}>
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="top-bar">
        <span className="brand">Chorus</span>
        <nav aria-label="Main">
          <ul>
            {PAGES.map((candidate) => (
              <li key={candidate.path}>
                <Link to={candidate.path} aria-current={candidate.path === path ? 'page' : undefined}>
                  {candidate.title}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <Main key={path}>
        {path === '/generate' && <GeneratePage />}
        {path === '/history' && <HistoryPage />}
        {path === '/batches' && <BatchesPage />}
        {path === '/farm' && <FarmPage />}
        {!page && path !== '/' && (
          <section>
            <h1>Page not found</h1>
            <p>
              There is no page at <code>{path}</code>. <Link to="/generate">Go to Generate</Link>.
            </p>
          </section>
        )}
      </Main>
    </DraftContext.Provider>
  );
}

/** Moves focus to the new page's heading after navigation, so screen readers announce it. */
function Main({ children }: { children: ReactNode }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.querySelector('h1')?.focus();
  }, []);
  return (
    <main id="main" ref={ref}>
      {children}
    </main>
  );
}
