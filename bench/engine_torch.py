"""PyTorch reference for `npm run bench:engine`: the same models, batch 60, Adam, random data.

Run with Debian's /usr/bin/python3 (python3-torch). It serves measurements so that the
benchmark can interleave them with its own: each line on stdin is a JSON request
{"model": "lenet-300-100" | "conv-4", "threads": n, "steps": n}, answered by one JSON line
{"samplesPerSecond": ..., "threads": n, "torch": version, "peakRssMiB": ...} on stdout.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn

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


MODELS = {"lenet-300-100": (lenet_300_100, (1, 28, 28)), "conv-4": (conv4, (3, 32, 32))}


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
for line in sys.stdin:
    request = json.loads(line)
    # PyTorch defaults to one thread on this machine (omp_get_max_threads() = 1); the
    # benchmark asks for every core too.
    torch.set_num_threads(request["threads"])
    build, shape = MODELS[request["model"]]
    sps = measure(build(), shape, request["steps"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samplesPerSecond": sps, "threads": request["threads"], "torch": torch.__version__, "peakRssMiB": peak}), flush=True)
