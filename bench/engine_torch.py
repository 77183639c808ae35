"""PyTorch reference for `npm run bench:engine`: the same models, batch 60, Adam, random data.

Run with Debian's /usr/bin/python3 (python3-torch); prints JSON on stdout.
"""
import json
import os
import sys
import time

import torch
import torch.nn as nn

QUICK = "--quick" in sys.argv
BATCH = 60


def lenet_300_100():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))


def conv4():
    def conv(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.ReLU()]

    return nn.Sequential(
        *conv(3, 64), *conv(64, 64), nn.MaxPool2d(2),
        *conv(64, 128), *conv(128, 128), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10),
    )


def measure(model, shape, steps):
    x = torch.randn(BATCH, *shape)
    y = torch.randint(0, 10, (BATCH,))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(max(2, steps // 10)):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * BATCH / (time.perf_counter() - start)


torch.manual_seed(0)
scale = 0.2 if QUICK else 1.0
out = []
# PyTorch defaults to one thread on this machine (omp_get_max_threads() = 1); the fair
# reference uses every core, and the one-thread number is kept beside it.
for threads in sorted({1, os.cpu_count() or 1}, reverse=True):
    torch.set_num_threads(threads)
    out.append({"model": "lenet-300-100", "samplesPerSecond": measure(lenet_300_100(), (1, 28, 28), int(1000 * scale)), "threads": threads, "torch": torch.__version__})
    out.append({"model": "conv-4", "samplesPerSecond": measure(conv4(), (3, 32, 32), max(2, int(40 * scale))), "threads": threads, "torch": torch.__version__})
print(json.dumps(out))
