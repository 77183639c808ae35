import { readFileSync } from 'node:fs';
import { cpus, platform } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  cpuDescription,
  describeCpu,
  describeMachine,
  machineDescription,
} from '../../src/core/cpu.ts';

/** One processor's block as Linux prints it, with the flags that matter here. */
const block = (family: number, model: number, flags: string) =>
  `processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: ${family}\nmodel\t\t: ${model}\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse sse2 ${flags}\n`;

describe('describeCpu', () => {
  it('tells apart two CPUs that report the same generic name', () => {
    const zen3 = describeCpu('AMD EPYC', block(25, 1, 'avx avx2 fma'));
    const zen4 = describeCpu('AMD EPYC', block(25, 17, 'avx avx2 avx512f avx512bw'));
    expect(zen3).toBe('AMD EPYC (family 25 model 1, AVX2)');
    expect(zen4).toBe('AMD EPYC (family 25 model 17, AVX-512)');
  });

  it('reads only the first processor, and not "model name" as the model number', () => {
    const two = `${block(6, 143, 'avx')}\n${block(25, 17, 'avx2 avx512f')}`;
    expect(describeCpu('Intel(R) Xeon(R) Processor', two)).toBe(
      'Intel(R) Xeon(R) Processor (family 6 model 143, AVX)',
    );
  });

  it('keeps the bare name where cpuinfo has none of the fields (an Arm board)', () => {
    const arm =
      'processor\t: 0\nBogoMIPS\t: 48.00\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n';
    expect(describeCpu('Cortex-A72', arm)).toBe('Cortex-A72');
  });
});

describe('cpuDescription', () => {
  it("names this machine's CPU by the name Node reports, with cpuinfo's details on Linux", () => {
    const name = cpus()[0]!.model.trim();
    const described = cpuDescription();
    expect(described.startsWith(name)).toBe(true);
    if (platform() === 'linux')
      expect(described).toBe(describeCpu(name, readFileSync('/proc/cpuinfo', 'utf8')));
  });
});

describe('machineDescription', () => {
  it('names this machine by its cores and its described CPU, as records do', () => {
    expect(describeMachine({ cores: 2, cpu: 'AMD EPYC (family 25 model 17, AVX-512)' })).toBe(
      '2 × AMD EPYC (family 25 model 17, AVX-512)',
    );
    expect(machineDescription()).toBe(`${cpus().length} × ${cpuDescription()}`);
  });
});
