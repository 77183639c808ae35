"""PyTorch on the GPU for scripts/gpu-check.sh: ResNet-20 (He et al. 2016, 1x1 conv
shortcuts as src/engine/architectures.ts) training at a batch size on random 32x32x3 data,
SGD with momentum; prints samples/s after warm-up steps.

    python3 bench/torch_gpu.py BATCH STEPS
"""
import sys
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, i, o, stride):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
            nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o))
        self.shortcut = (nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))
                         if stride != 1 or i != o else nn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


def resnet20():
    layers = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    i = 16
    for stage, o in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(Block(i, o, 2 if stage > 0 and b == 0 else 1))
            i = o
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


batch, steps = int(sys.argv[1]), int(sys.argv[2])
device = torch.device('cuda')
model = resnet20().to(device)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
x = torch.rand(batch, 3, 32, 32, device=device)
y = torch.randint(0, 10, (batch,), device=device)
for step in range(3 + steps):
    if step == 3:
        torch.cuda.synchronize()
        start = time.perf_counter()
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    loss.item()  # read back every step, as TicketLab does
seconds = time.perf_counter() - start
print(f'resnet-20 torch {torch.__version__} on {torch.cuda.get_device_name()}: '
      f'{steps * batch / seconds:.1f} samples/s (batch {batch})')
