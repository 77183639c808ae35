"""Layer collapse by Tanaka et al. 2020's own pruners, for bench:collapse's table.

    npm run bench:collapse-reference -- --repo PATH [--scores cs,grasp] [--seeds 3]
        [--from 3] [--to 4.25] [--step 0.25] [--rounds 1] [--dataset DIR] [--record]

Runs the SNIP (`cs`) and GraSP pruners of the paper's reference code (ganguli-lab/Synaptic-Flow,
checked out at PATH and imported from there, never copied) on its VGG-16 with batch norm, at
θ0, in evaluation mode (`prune.py`'s default), scoring 10 CIFAR-10 training images per class
(the first of each class in data_batch_1), normalised as its loader does, over `--rounds`
rounds with the exponential schedule `prune_loop` uses, for each log10 compression c of the
grid. Each mask's kept weights per layer go into a bench:collapse record (bench/report.ts's
CollapseRecord), layers named as the app names VGG-16's, so BENCHMARKS.md's collapse table
sets the reference's masks beside the app's. Writes bench/results/collapse-reference.json;
--record also bench/records/collapse-<date>.json. PyTorch runs on one thread.
"""

import argparse
import datetime
import gzip
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)

parser = argparse.ArgumentParser()
parser.add_argument('--repo', required=True, help='a checkout of ganguli-lab/Synaptic-Flow')
parser.add_argument('--scores', default='cs,grasp')
parser.add_argument('--seeds', type=int, default=3)
parser.add_argument('--from', dest='start', type=float, default=3.0)
parser.add_argument('--to', type=float, default=4.25)
parser.add_argument('--step', type=float, default=0.25)
parser.add_argument('--rounds', type=int, default=1)
parser.add_argument('--dataset', default=os.path.join(ROOT, '..', 'shared', 'datasets', 'cifar10'))
parser.add_argument('--record', action='store_true')
args = parser.parse_args()

sys.path.insert(0, args.repo)
from Models import lottery_vgg  # noqa: E402
from Pruners import pruners  # noqa: E402
from Utils import generator  # noqa: E402

torch.set_num_threads(1)
PRUNERS = {'cs': ('snip', pruners.SNIP), 'grasp': ('grasp', pruners.GraSP)}
scores = args.scores.split(',')
for s in scores:
    if s not in PRUNERS:
        sys.exit(f'--scores: {s} is not one of {", ".join(PRUNERS)}')
steps = int(round((args.to - args.start) / args.step)) + 1
grid = [round(args.start + i * args.step, 6) for i in range(steps)]

# CIFAR-10's binary batches: a label byte, then 3×32×32 bytes, channels first
raw = np.frombuffer(gzip.open(os.path.join(args.dataset, 'data_batch_1.bin.gz')).read(), np.uint8)
raw = raw.reshape(-1, 3073)
labels = raw[:, 0]
images = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255
mean = np.array([0.491, 0.482, 0.447], np.float32).reshape(1, 3, 1, 1)  # Utils/load.py
std = np.array([0.247, 0.243, 0.262], np.float32).reshape(1, 3, 1, 1)
picked = [i for c in range(10) for i in np.where(labels == c)[0][:10]]
loader = [(torch.tensor((images[picked] - mean) / std), torch.tensor(labels[picked].astype(np.int64)))]


def git(*command, cwd):
    out = subprocess.run(['git', *command], cwd=cwd, capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


layers = None
rows = []
started = time.time()
for seed in range(args.seeds):
    for score in scores:
        label, Pruner = PRUNERS[score]
        t0 = time.time()
        for c in grid:
            torch.manual_seed(seed)
            model = lottery_vgg.vgg16_bn((3, 32, 32), 10)
            model.eval()
            pruner = Pruner(generator.masked_parameters(model, False, False, False))
            for epoch in range(args.rounds):
                pruner.score(model, torch.nn.CrossEntropyLoss(), loader, 'cpu')
                pruner.mask((10 ** -c) ** ((epoch + 1) / args.rounds), 'global')
            masks = [m for m, _ in pruner.masked_parameters]
            if layers is None:
                names = [f'conv{i + 1}.kernel' for i in range(len(masks) - 1)] + ['fc.kernel']
                layers = [{'name': n, 'weights': m.numel()} for n, m in zip(names, masks)]
            kept = [int(m.sum()) for m in masks]
            rows.append({
                'score': f'{label}: Synaptic-Flow’s code, running statistics'
                + (f', {args.rounds} rounds' if args.rounds > 1 else ''),
                'seed': seed,
                'compression': c,
                'kept': kept,
                # a plain stack: cut through where any layer is empty
                'connected': all(k > 0 for k in kept),
            })
        print(f'vgg-16 seed {seed} {label}: {len(grid)} masks in {time.time() - t0:.1f} s; '
              f'at 10^{grid[-1]}: {"/".join(map(str, rows[-1]["kept"]))}', flush=True)

with open(os.path.join(ROOT, 'package.json')) as f:
    version = json.load(f)['version']
cpu = next((line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo')
            if line.startswith('model name')), platform.processor() or 'unknown')
now = datetime.datetime.now(datetime.timezone.utc)
reference = git('rev-parse', 'HEAD', cwd=args.repo)
record = {
    'date': now.isoformat(timespec='milliseconds').replace('+00:00', 'Z'),
    'command': 'npm run bench:collapse-reference -- ' + ' '.join(sys.argv[1:]),
    'machine': {'cpu': cpu, 'cores': os.cpu_count(), 'memoryGiB': round(
        os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30),
        'os': f'{platform.system().lower()} {platform.release()}', 'node': None},
    'versions': {'ticketlab': version, 'commit': git('rev-parse', 'HEAD', cwd=ROOT),
                 'dirty': bool(git('status', '--porcelain', '--untracked-files=no', cwd=ROOT))},
    'backend': f'PyTorch {torch.__version__}, 1 thread, Synaptic-Flow at '
               f'{reference[:7] if reference else "an unknown commit"}',
    'dataset': os.path.basename(os.path.normpath(args.dataset)),
    'samplesPerClass': 10,
    'rounds': args.rounds,
    'statistics': 'running',
    'grid': grid,
    'wallSeconds': time.time() - started,
    'models': [{'model': 'vgg-16', 'layers': layers, 'rows': rows}],
}
text = json.dumps(record) + '\n'
os.makedirs(os.path.join(BENCH, 'results'), exist_ok=True)
with open(os.path.join(BENCH, 'results', 'collapse-reference.json'), 'w') as f:
    f.write(text)
if args.record:
    path = os.path.join(BENCH, 'records', f'collapse-{now.strftime("%Y-%m-%dT%H%M")}.json')
    with open(path, 'w') as f:
        f.write(text)
    print(f'recorded: {path}')
