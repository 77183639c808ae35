"""PyTorch reference for `npm run bench:engine` (the same models, batch 60, Adam, random data)
and `npm run bench:gpu` (batch 128, SGD with momentum, on CUDA where PyTorch has it).

Run with Debian's /usr/bin/python3 (python3-torch) or any python3 with torch. It serves
measurements so that the benchmark can interleave them with its own: each line on stdin is a
JSON request {"model": "lenet-300-100" | "lenet-5" | "conv-2" | "conv-4" | "vgg-11" | "resnet-20",
"threads": n, "steps": n} with optional "device" ("cpu", the default, or "cuda"), "batch"
(default 60) and "optimizer" ("adam", the default, or "sgd": bench:gpu's lr 0.01, momentum
0.9, weight decay 1e-4), answered by one JSON line {"samplesPerSecond": ..., "threads": n,
"torch": version, "device": name, "peakRssMiB": ...} on stdout.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn


def lenet_300_100():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))


def lenet5():
    """LeNet-5-Caffe as src/engine/architectures.ts builds it: valid 5×5 convolutions with ReLU."""
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(50 * 4 * 4, 500), nn.ReLU(), nn.Linear(500, 10),
    )


def conv_net(blocks):
    """Frankle & Carbin's Conv-2/4: 3×3 same convolutions with ReLU, 2×2 max pooling after each
    block, then 256-256-10, as src/engine/architectures.ts builds them."""
    layers, channels = [], 3
    for block in blocks:
        for filters in block:
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU()]
            channels = filters
        layers.append(nn.MaxPool2d(2))
    side = 32 // 2 ** len(blocks)
    return nn.Sequential(
        *layers,
        nn.Flatten(), nn.Linear(channels * side * side, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10),
    )


def vgg11():
    """VGG-11 with batch norm as src/engine/architectures.ts builds it: convolutions without
    bias, batch norm and ReLU, global average pooling, one linear layer."""
    layers, channels = [], 3
    for p in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512]:
        if p == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, p, 3, padding=1, bias=False), nn.BatchNorm2d(p), nn.ReLU()]
            channels = p
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10))


class Block(nn.Module):
    """ResNet-20's block (He et al. 2016), a 1×1 convolution shortcut where the shape changes."""

    def __init__(self, i, o, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
            nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o),
        )
        self.shortcut = (
            nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
            if stride != 1 or i != o else nn.Identity()
        )

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet20():
    layers, channels = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage, filters in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(Block(channels, filters, 2 if stage > 0 and b == 0 else 1))
            channels = filters
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


MODELS = {
    "lenet-300-100": (lenet_300_100, (1, 28, 28)),
    "lenet-5": (lenet5, (1, 28, 28)),
    "conv-2": (lambda: conv_net([[64, 64]]), (3, 32, 32)),
    "conv-4": (lambda: conv_net([[64, 64], [128, 128]]), (3, 32, 32)),
    "vgg-11": (vgg11, (3, 32, 32)),
    "resnet-20": (resnet20, (3, 32, 32)),
}


def measure(model, shape, steps, batch, optimizer, device):
    model = model.to(device)
    x = torch.randn(batch, *shape, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    opt = (
        torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        if optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=1e-3)
    )
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()  # reads the loss back, so each step has finished on a GPU too

    for _ in range(max(2, steps // 10)):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - start)


torch.manual_seed(0)
for line in sys.stdin:
    request = json.loads(line)
    # PyTorch defaults to one thread on this machine (omp_get_max_threads() = 1); the
    # benchmark asks for every core too.
    torch.set_num_threads(request["threads"])
    build, shape = MODELS[request["model"]]
    device = torch.device(request.get("device", "cpu"))
    sps = measure(build(), shape, request["steps"], request.get("batch", 60), request.get("optimizer", "adam"), device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"samplesPerSecond": sps, "threads": request["threads"], "torch": torch.__version__, "device": name, "peakRssMiB": peak}), flush=True)
