import { describe, expect, it } from 'vitest';
import { learningRatePoints, runSchedule } from '../../renderer/src/lib/schedule.ts';
import { learningRateAt, resolveSpec, specSchedule } from '../../src/api/spec.ts';

describe('the learning-rate plot’s data', () => {
  it('samples the schedule on both sides of every milestone, from the training’s own function', () => {
    const s = specSchedule(
      resolveSpec({
        model: 'resnet-20',
        training: {
          learningRate: 0.1,
          batchSize: 100,
          duration: '10ep',
          schedule: 'multistep',
          milestones: ['5ep', '80%'],
          warmup: '50it',
        },
        validationFraction: 0.2,
      }),
      1250, // 1,000 training examples after the validation split: 10 iterations per epoch
    );
    expect(s).toMatchObject({ total: 100, milestones: [50, 80], warmup: 50 });
    const points = learningRatePoints(s, 20);
    const its = points.map((p) => p.iteration);
    expect(its).toEqual([...its].sort((a, b) => a - b));
    for (const m of [49, 50, 79, 80, 0, 100]) expect(its).toContain(m);
    for (const p of points) expect(p.rate).toBe(learningRateAt(s, p.iteration));
    expect(points.find((p) => p.iteration === 50)!.rate).toBeCloseTo(0.01, 12);
  });

  it('reads a run’s stored settings, and gives none where they lack the epoch size', () => {
    const stored = {
      ...resolveSpec({
        model: 'conv-4',
        training: { schedule: 'cosine', warmup: '1ep', duration: '4ep' },
      }).training,
      iterations: 40,
      rewindIteration: 0,
      iterationsPerEpoch: 10,
    };
    expect(runSchedule(stored)).toMatchObject({ schedule: 'cosine', warmup: 10, total: 40 });
    expect(runSchedule({ ...stored, iterationsPerEpoch: undefined })).toBeNull();
    expect(runSchedule(null)).toBeNull();
  });
});
