import { describe, expect, it } from 'vitest';
import { resolveSweep, timeLimitSeconds } from '../../src/api/sweep.ts';

const sweep = (target: Record<string, unknown>) => ({
  base: { model: 'lenet-300-100' },
  axes: { seed: [1] },
  target: { kind: 'slurm', ...target },
});

describe('a Slurm target', () => {
  it('reads every sbatch --time form in seconds, "0" being no limit', () => {
    expect(timeLimitSeconds('30')).toBe(30 * 60);
    expect(timeLimitSeconds('30:15')).toBe(30 * 60 + 15);
    expect(timeLimitSeconds('02:00:00')).toBe(7200);
    expect(timeLimitSeconds('1-12')).toBe(86400 + 12 * 3600);
    expect(timeLimitSeconds('1-00:30')).toBe(86400 + 30 * 60);
    expect(timeLimitSeconds('2-01:00:05')).toBe(2 * 86400 + 3600 + 5);
    expect(timeLimitSeconds('0')).toBeNull();
  });

  it('refuses a warning that Slurm may send before the worker has started', () => {
    // the default 120-s warning in a 2-minute job
    expect(() => resolveSweep(sweep({ timeLimit: '2' }))).toThrow(
      /sweep\.target\.warnSeconds: 120 s leaves 0 s of the 120-s time limit before the warning: Slurm may send it up to 60 s early.*Lower warnSeconds to at most 30 or raise timeLimit/s,
    );
    expect(() => resolveSweep(sweep({ timeLimit: '1', warnSeconds: 45 }))).toThrow(
      /warnSeconds: 45 s leaves 15 s of the 60-s time limit.*Raise timeLimit past 90 s and the warning\./s,
    );
    expect(resolveSweep(sweep({ timeLimit: '2', warnSeconds: 30 })).target).toMatchObject({
      timeLimit: '2',
      warnSeconds: 30,
    });
    expect(resolveSweep(sweep({ timeLimit: '0' })).target).toMatchObject({ warnSeconds: 120 });
    expect(resolveSweep(sweep({})).target).toMatchObject({ warnSeconds: 120 });
  });
});
