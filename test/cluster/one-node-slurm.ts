import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real one-node Slurm cluster for tests: munged, slurmctld and slurmd as root with their
 * own slurm.conf, key, state and spool folders in a temp folder (Debian's slurm-wlm and
 * munge; proctrack/linuxproc and task/none need no cgroups). Tests reach it through
 * `env` (SLURM_CONF), so nothing of the machine's own configuration is touched. The node is
 * in two partitions: `debug`, the default, whose jobs a job of `urgent` preempts (requeued,
 * after a 30 s GraceTime that starts with SIGTERM to their steps).
 */
export interface OneNodeSlurm {
  readonly node: string;
  readonly env: Record<string, string>;
  /** runs a Slurm command against this cluster, returning its stdout (throws on failure) */
  command(name: string, args: string[]): string;
  /** the controller's log lines that name a job, for a failing test's message */
  controllerLog(jobId: string): string;
  stop(): Promise<void>;
}

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sacct', 'scontrol'];

/** Why the cluster cannot be started here, or null when it can. */
export function slurmUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'the one-node Slurm test cluster runs its daemons as root';
  const missing = BINARIES.filter((b) => spawnSync('which', [b]).status !== 0);
  if (missing.length > 0)
    return `${missing.join(', ')} not found: apt-get install -y slurm-wlm munge (.ci/run does)`;
  return null;
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

export async function startOneNodeSlurm(
  options: { cpus?: number; memoryMb?: number } = {},
): Promise<OneNodeSlurm> {
  const root = mkdtempSync(join(tmpdir(), 'ticketlab-slurm-'));
  chmodSync(root, 0o755);
  const node = hostname().split('.')[0]!;
  const cpus = options.cpus ?? 2;
  const memoryMb = options.memoryMb ?? 4000;
  for (const d of ['state', 'spool', 'log', 'munge']) mkdirSync(join(root, d));
  chmodSync(join(root, 'munge'), 0o700);
  const key = join(root, 'munge', 'munge.key');
  writeFileSync(key, Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 131 + 7) % 256)));
  chmodSync(key, 0o400);
  const socket = join(root, 'munge', 'munge.socket');
  // Ports derived from the pid so two test files never share a controller.
  const port = 20000 + (process.pid % 20000);
  const conf = join(root, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=ticketlab-test',
      `SlurmctldHost=${node}`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket},cred_expire=10`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core_Memory',
      'SchedulerType=sched/backfill',
      'SchedulerParameters=sched_interval=1',
      `StateSaveLocation=${join(root, 'state')}`,
      `SlurmdSpoolDir=${join(root, 'spool')}`,
      `SlurmctldPidFile=${join(root, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(root, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(root, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(root, 'log', 'slurmd.log')}`,
      'JobCompType=jobcomp/none',
      'AccountingStorageType=accounting_storage/none',
      'JobAcctGatherType=jobacct_gather/none',
      'MpiDefault=none',
      'ReturnToService=1',
      'JobRequeue=1',
      'MinJobAge=300',
      'KillWait=5',
      'OverTimeLimit=0',
      'SlurmctldTimeout=30',
      // A node is declared down only by the tests (scontrol), never because a loaded
      // machine's slurmd answered late.
      'SlurmdTimeout=300',
      'InactiveLimit=0',
      `NodeName=${node} CPUs=${cpus} RealMemory=${memoryMb} State=UNKNOWN`,
      'PreemptType=preempt/partition_prio',
      'PreemptMode=REQUEUE',
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=30`,
      `PartitionName=urgent Nodes=${node} MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF`,
      '',
    ].join('\n'),
  );
  const env: Record<string, string> = { SLURM_CONF: conf };
  const fullEnv = { ...process.env, ...env };
  const daemons: ChildProcess[] = [];
  const start = (cmd: string, args: string[]) => {
    const child = spawn(cmd, args, { env: fullEnv, stdio: 'ignore' });
    daemons.push(child);
  };
  start('munged', [
    '--foreground',
    '--force',
    `--key-file=${key}`,
    `--socket=${socket}`,
    `--pid-file=${join(root, 'munge', 'munged.pid')}`,
    `--log-file=${join(root, 'log', 'munged.log')}`,
    `--seed-file=${join(root, 'munge', 'seed')}`,
  ]);
  await waitFor(() => existsSync(socket), 'munged to open its socket', root);
  start('slurmctld', ['-D', '-i', '-f', conf]);
  start('slurmd', ['-D', '-f', conf]);
  const command = (name: string, args: string[]) => sh(name, args, fullEnv);
  const stop = async () => {
    spawnSync('scancel', ['--full', '-u', 'root'], { env: fullEnv });
    // Each daemon is stopped by its own pid (slurmd ends its jobs' processes as it goes).
    for (const d of daemons.reverse()) {
      if (d.exitCode !== null || d.signalCode !== null) continue;
      const exited = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      const timer = setTimeout(() => d.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () => {
        // one line per partition the node is in
        const r = spawnSync('sinfo', ['-h', '-N', '-o', '%T'], { env: fullEnv, encoding: 'utf8' });
        return (
          r.status === 0 &&
          r.stdout
            .trim()
            .split('\n')
            .every((s) => s === 'idle')
        );
      },
      'the node to be idle',
      root,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const controllerLog = (jobId: string) =>
    readFileSync(join(root, 'log', 'slurmctld.log'), 'utf8')
      .split('\n')
      .filter((line) => new RegExp(`JobId=${jobId}\\b`).test(line))
      .slice(-40)
      .join('\n');
  return { node, env, command, controllerLog, stop };
}

async function waitFor(ok: () => boolean, what: string, root: string, ms = 60_000) {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) {
      const log = (f: string) =>
        spawnSync('tail', ['-n', '20', join(root, 'log', f)], { encoding: 'utf8' }).stdout;
      throw new Error(
        `Timed out waiting for ${what}.\nslurmctld: ${log('slurmctld.log')}\nslurmd: ${log('slurmd.log')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
