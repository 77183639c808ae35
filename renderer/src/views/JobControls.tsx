import { useState } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { useClient } from '../hooks.ts';
import { ConfirmDialog } from './Dialog.tsx';

type Job = MethodOutput<'jobs.list'>[number];

/** Pause, resume and cancel for one job; errors shown beside the buttons. */
export function JobControls({ job, onChange }: { job: Job; onChange: () => void }) {
  const client = useClient();
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const act = async (method: 'jobs.pause' | 'jobs.resume' | 'jobs.cancel') => {
    try {
      setError(null);
      await client.call(method, { jobId: job.id });
      onChange();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const active = job.state === 'running' || job.state === 'queued';
  return (
    <span className="actions">
      {active && <button onClick={() => act('jobs.pause')}>Pause</button>}
      {(job.state === 'paused' || job.state === 'interrupted') && (
        <button onClick={() => act('jobs.resume')}>Resume</button>
      )}
      {(active || job.state === 'paused' || job.state === 'interrupted') && (
        <button className="danger" onClick={() => setAsking(true)}>
          Cancel
        </button>
      )}
      {asking && (
        <ConfirmDialog
          title="Cancel this job?"
          message="Its tickets stored so far stay; the level in training is dropped."
          confirmLabel="Cancel the job"
          cancelLabel="Keep it running"
          onConfirm={() => void act('jobs.cancel')}
          onClose={() => setAsking(false)}
        />
      )}
      {error && <span className="error">{error}</span>}
    </span>
  );
}
