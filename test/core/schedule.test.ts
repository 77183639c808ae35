import { describe, expect, it } from 'vitest';
import {
  learningRateAt,
  resolveSchedule,
  type LearningRateSchedule,
} from '../../src/core/schedule.ts';

const schedule = (over: Partial<LearningRateSchedule>): LearningRateSchedule => ({
  base: 0.1,
  schedule: 'constant',
  milestones: [],
  factor: 0.1,
  warmup: 0,
  total: 160,
  ...over,
});

describe('learning-rate schedules', () => {
  it('constant keeps the base rate', () => {
    const s = schedule({});
    expect([0, 1, 80, 159, 160].map((t) => learningRateAt(s, t))).toEqual([
      0.1, 0.1, 0.1, 0.1, 0.1,
    ]);
  });

  it('multistep multiplies by the factor from each milestone on (PyTorch MultiStepLR)', () => {
    // MultiStepLR(milestones=[80, 120], gamma=0.1) after t scheduler steps: 0.1·0.1^bisect_right
    const s = schedule({ schedule: 'multistep', milestones: [80, 120] });
    const at = (t: number) => learningRateAt(s, t);
    expect(at(0)).toBe(0.1);
    expect(at(79)).toBe(0.1);
    expect(at(80)).toBeCloseTo(0.01, 15);
    expect(at(119)).toBeCloseTo(0.01, 15);
    expect(at(120)).toBeCloseTo(0.001, 15);
    expect(at(159)).toBeCloseTo(0.001, 15);
    const half = schedule({ schedule: 'multistep', milestones: [10], factor: 0.5 });
    expect(learningRateAt(half, 10)).toBe(0.05);
  });

  it('cosine falls from the base rate to 0 at the end of training (CosineAnnealingLR)', () => {
    const s = schedule({ schedule: 'cosine', total: 100 });
    expect(learningRateAt(s, 0)).toBe(0.1);
    expect(learningRateAt(s, 25)).toBeCloseTo((0.1 * (1 + Math.SQRT1_2)) / 2, 15);
    expect(learningRateAt(s, 50)).toBeCloseTo(0.05, 15);
    expect(learningRateAt(s, 100)).toBeCloseTo(0, 15);
    // PyTorch's recursive form, η_t = η_{t−1}·(1 + cos(πt/T)) / (1 + cos(π(t−1)/T)), agrees
    let eta = 0.1;
    for (let t = 1; t < 100; t++) {
      eta *= (1 + Math.cos((Math.PI * t) / 100)) / (1 + Math.cos((Math.PI * (t - 1)) / 100));
      expect(learningRateAt(s, t)).toBeCloseTo(eta, 12);
    }
  });

  it('a linear warm-up multiplies any schedule by min(1, t / warm-up) (OpenLTH)', () => {
    const s = schedule({ warmup: 10 });
    expect([0, 5, 10, 20].map((t) => learningRateAt(s, t))).toEqual([0, 0.05, 0.1, 0.1]);
    const step = schedule({ schedule: 'multistep', milestones: [5], warmup: 10 });
    expect(learningRateAt(step, 5)).toBeCloseTo(0.1 * 0.1 * 0.5, 15);
  });

  it('resolves milestones given as durations or shares of the training', () => {
    const s = resolveSchedule(
      {
        learningRate: 0.1,
        schedule: 'multistep',
        milestones: ['2ep', '50%', '1ep5it', '75%'],
        milestoneFactor: 0.2,
        warmup: '1ep',
      },
      10,
      160,
    );
    expect(s).toEqual({
      base: 0.1,
      schedule: 'multistep',
      milestones: [20, 80, 15, 120],
      factor: 0.2,
      warmup: 10,
      total: 160,
    });
  });
});
