import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connect } from './api.ts';
import { ClientContext } from './hooks.ts';

createRoot(document.getElementById('root')!).render(
  <ClientContext.Provider value={connect()}>
    <App />
  </ClientContext.Provider>,
);
