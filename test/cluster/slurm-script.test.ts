import { describe, expect, it } from 'vitest';
import { SlurmTarget } from '../../src/api/sweep.ts';
import { batchScript } from '../../src/cluster/slurm.ts';

describe('the Slurm batch script', () => {
  it("asks for what the target names, warns before the time limit, and runs the worker as the job's step", () => {
    const target = SlurmTarget.parse({
      kind: 'slurm',
      partition: 'gpu',
      account: 'lab',
      timeLimit: '04:00:00',
      cpusPerTask: 8,
      memory: '32G',
      gpus: 2,
      gpuType: 'a100',
      warnSeconds: 300,
      extraSbatch: ['--qos=short'],
    });
    const script = batchScript({
      target,
      name: 'ticketlab-job_1',
      output: '/data/cluster/job_1/slurm-%j.out',
      workerCommand: "'/usr/bin/node' '/opt/ticketlab/bin/ticketlab.mjs'",
      folders: ["/data/cluster/job_1's"],
    });
    const directives = script.split('\n').filter((l) => l.startsWith('#SBATCH'));
    expect(directives).toEqual([
      '#SBATCH --job-name=ticketlab-job_1',
      '#SBATCH --output=/data/cluster/job_1/slurm-%j.out',
      '#SBATCH --partition=gpu',
      '#SBATCH --account=lab',
      '#SBATCH --time=04:00:00',
      '#SBATCH --cpus-per-task=8',
      '#SBATCH --mem=32G',
      '#SBATCH --gres=gpu:a100:2',
      '#SBATCH --signal=USR1@300',
      '#SBATCH --requeue',
      '#SBATCH --open-mode=append',
      '#SBATCH --ntasks=1',
      '#SBATCH --qos=short',
    ]);
    expect(script).toContain(
      "exec srun --ntasks=1 --cpus-per-task=${SLURM_CPUS_PER_TASK:-8} '/usr/bin/node' '/opt/ticketlab/bin/ticketlab.mjs' worker --job '/data/cluster/job_1'\\''s'",
    );
  });

  it('runs a sweep as one job array, task i on folder i; no GPUs asked for by default', () => {
    const script = batchScript({
      target: SlurmTarget.parse({ kind: 'slurm' }),
      name: 'ticketlab-sweep',
      output: '/data/cluster/slurm-%A_%a.out',
      workerCommand: 'ticketlab',
      folders: ['/d/a', '/d/b', '/d/c'],
    });
    expect(script).toContain('#SBATCH --array=0-2');
    expect(script).not.toContain('--gres');
    expect(script).toContain("FOLDERS=('/d/a' '/d/b' '/d/c')");
    expect(script).toContain(
      'exec srun --ntasks=1 --cpus-per-task=${SLURM_CPUS_PER_TASK:-1} ticketlab worker --job "${FOLDERS[$SLURM_ARRAY_TASK_ID]}"',
    );
  });
});
