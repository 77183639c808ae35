import { useLoad } from '../hooks.ts';

export function SettingsPage() {
  const info = useLoad((c) => c.call('system.info', {}), []);
  if (info.error) return <p className="error">{info.error}</p>;
  const i = info.data;
  return (
    <section>
      <h1>Settings and about</h1>
      {i && (
        <dl className="facts">
          <dt>Compute backend</dt>
          <dd>{i.backend ?? 'not started yet (starts with the first job)'}</dd>
          <dt>Device</dt>
          <dd>{i.device ?? '–'}</dd>
          <dt>Data folder</dt>
          <dd>{i.dataDir}</dd>
          {Object.entries(i.versions).map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      )}
    </section>
  );
}
