import { useState } from 'react';
import type { MethodOutput } from '../../../src/api/contract.ts';
import { useClient } from '../hooks.ts';

type Job = MethodOutput<'jobs.list'>[number];

/** Pause, resume and cancel for one job; errors shown beside the buttons. */
export function JobControls({ job, onChange }: { job: Job; onChange: () => void }) {
  const client = useClient();
  const [error, setError] = useState<string | null>(null);
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
        <button
          className="danger"
          onClick={() => confirm('Cancel this job? Stored tickets stay.') && act('jobs.cancel')}
        >
          Cancel
        </button>
      )}
      {error && <span className="error">{error}</span>}
    </span>
  );
}
