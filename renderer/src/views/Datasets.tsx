import { useEffect, useRef, useState } from 'react';
import { useClient, useLoad } from '../hooks.ts';

function Sample({ pixels, shape }: { pixels: number[]; shape: [number, number, number] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const [h, w, c] = shape;
    const ctx = canvas.current!.getContext('2d')!;
    const img = ctx.createImageData(w, h);
    for (let i = 0; i < h * w; i++) {
      for (let k = 0; k < 3; k++) img.data[i * 4 + k] = pixels[i * c + (c === 3 ? k : 0)]!;
      img.data[i * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }, [pixels, shape]);
  return <canvas ref={canvas} width={shape[1]} height={shape[0]} />;
}

export function DatasetsPage() {
  const client = useClient();
  const list = useLoad((c) => c.call('datasets.list', {}), []);
  const [open, setOpen] = useState<string | null>(null);
  const samples = useLoad(
    async (c) => (open ? c.call('datasets.inspect', { id: open, count: 100 }) : null),
    [open],
  );
  const [path, setPath] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const importPath = async () => {
    setBusy(true);
    setError(null);
    try {
      const d = await client.call('datasets.import', { path, name: name || undefined });
      list.reload();
      setOpen(d.id);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  // A grid of samples grouped by class, with each class's count in the shown sample.
  const byClass = new Map<string, { pixels: number[]; index: number }[]>();
  for (const s of samples.data?.samples ?? [])
    byClass.set(s.className, [...(byClass.get(s.className) ?? []), s]);

  return (
    <section>
      <h1>Datasets</h1>
      <div className="toolbar">
        <input
          placeholder="Folder with IDX or CIFAR files (a path on this machine)"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          aria-label="Dataset folder"
          size={50}
        />
        <input
          placeholder="name (optional)"
          value={name}
          onChange={(e) => setName(e.target.value)}
          aria-label="Dataset name"
        />
        <button className="primary" disabled={!path || busy} onClick={importPath}>
          Import
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <table aria-label="Datasets">
        <thead>
          <tr>
            <th>name</th>
            <th>format</th>
            <th>shape</th>
            <th>classes</th>
            <th>train</th>
            <th>test</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((d) => (
            <tr key={d.id} className={open === d.id ? 'selected' : ''}>
              <td>
                <button className="link" onClick={() => setOpen(d.id)}>
                  {d.name}
                </button>
              </td>
              <td>{d.format}</td>
              <td>{d.inputShape.join('×')}</td>
              <td>{d.classNames.length}</td>
              <td>{d.trainCount.toLocaleString()}</td>
              <td>{d.testCount.toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {samples.data && (
        <div className="samples" aria-label="Samples">
          <h2>
            {samples.data.dataset.name}: first {samples.data.samples.length} test images by class
          </h2>
          <p className="muted" aria-label="Class counts">
            Examples per class (train / test):{' '}
            {samples.data.dataset.classNames
              .map(
                (c, i) =>
                  `${c} ${samples.data!.classCounts.train[i]} / ${samples.data!.classCounts.test[i]}`,
              )
              .join(' · ')}
          </p>
          {[...byClass].map(([cls, items]) => (
            <div key={cls} className="class-row">
              <span className="class-name">
                {cls} ({items.length})
              </span>
              {items.map((s) => (
                <Sample key={s.index} pixels={s.pixels} shape={samples.data!.dataset.inputShape} />
              ))}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
