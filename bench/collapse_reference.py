"""Layer collapse by Tanaka et al. 2020's own pruners: the masks half of
bench/collapse-reference.ts, which passes its options on and writes the record.

Runs the SNIP (`cs`) and GraSP pruners of the paper's reference code (ganguli-lab/Synaptic-Flow,
checked out at PATH and imported from there, never copied) on its VGG-16 with batch norm, at
θ0, in evaluation mode (`prune.py`'s default), scoring 10 CIFAR-10 training images per class
(the first of each class in data_batch_1), normalised as its loader does, over `--rounds`
rounds with the exponential schedule `prune_loop` uses, for each log10 compression c of
`--grid`. Prints one JSON object: the prunable layers, named as the app names VGG-16's, each
mask's kept weights per layer as bench:collapse rows, and the versions of PyTorch and of the
reference code. PyTorch runs on one thread.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

parser = argparse.ArgumentParser()
parser.add_argument('--repo', required=True, help='a checkout of ganguli-lab/Synaptic-Flow')
parser.add_argument('--scores', default='cs,grasp')
parser.add_argument('--seeds', type=int, default=3)
parser.add_argument('--grid', required=True, help='log10 compressions, comma-separated')
parser.add_argument('--rounds', type=int, default=1)
parser.add_argument('--dataset', required=True)
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
grid = [float(c) for c in args.grid.split(',')]

# CIFAR-10's binary batches: a label byte, then 3×32×32 bytes, channels first
raw = np.frombuffer(gzip.open(os.path.join(args.dataset, 'data_batch_1.bin.gz')).read(), np.uint8)
raw = raw.reshape(-1, 3073)
labels = raw[:, 0]
images = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255
mean = np.array([0.491, 0.482, 0.447], np.float32).reshape(1, 3, 1, 1)  # Utils/load.py
std = np.array([0.247, 0.243, 0.262], np.float32).reshape(1, 3, 1, 1)
picked = [i for c in range(10) for i in np.where(labels == c)[0][:10]]
loader = [(torch.tensor((images[picked] - mean) / std), torch.tensor(labels[picked].astype(np.int64)))]


layers = None
rows = []
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
              f'at 10^{grid[-1]}: {"/".join(map(str, rows[-1]["kept"]))}', file=sys.stderr, flush=True)

reference = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=args.repo, capture_output=True,
                           text=True)
print(json.dumps({
    'torch': torch.__version__,
    'reference': reference.stdout.strip() if reference.returncode == 0 else None,
    'layers': layers,
    'rows': rows,
}))
