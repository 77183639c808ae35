"""Rebuild a TicketLab ticket in PyTorch from its safetensors export.

    ticketlab export <ticket-id> --format safetensors --out ticket.safetensors
    python3 load_ticket_pytorch.py ticket.safetensors

Needs only torch (no safetensors package). The architecture comes from the file's
metadata ("ticketlab.architecture", also written beside it as <name>.architecture.json).
Pruned kernels are restored with torch.nn.utils.prune.custom_from_mask, so the mask stays
applied if you keep training. Inputs are NCHW float32 pixels / 255; the model normalises
them itself.

Optional check: --input X --expect Y with raw little-endian float32 files (inputs and the
logits TicketLab computed) prints the largest absolute difference.
"""

import argparse
import json
import struct

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import prune

DTYPES = {"F32": torch.float32, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        start, end = e["data_offsets"]
        raw = bytearray(data[8 + n + start : 8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
    return tensors, metadata


class Select(nn.Module):
    """The input features a structured ticket kept (L0's input gates): x[:, indices]."""

    def __init__(self, features):
        super().__init__()
        self.register_buffer("indices", torch.zeros(features, dtype=torch.long))

    def forward(self, x):
        return x.index_select(1, self.indices)


class Ticket(nn.Module):
    """Interprets the exported description; modules are registered under their names."""

    def __init__(self, arch):
        super().__init__()
        self.arch = arch
        norm = arch["inputNormalisation"]
        self.register_buffer("input_mean", torch.tensor(norm["mean"]).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("input_std", torch.tensor(norm["std"]).view(1, -1, 1, 1), persistent=False)
        self._build(arch["layers"])

    def _register(self, dotted, module):
        parent = self
        *path, leaf = dotted.split(".")
        for part in path:
            if not hasattr(parent, part):
                parent.add_module(part, nn.Module())
            parent = getattr(parent, part)
        parent.add_module(leaf, module)

    def _get(self, dotted):
        return self.get_submodule(dotted)

    def _build(self, layers):
        for l in layers:
            t = l["type"]
            if t == "Linear":
                self._register(l["name"], nn.Linear(l["in_features"], l["out_features"]))
            elif t == "Conv2d":
                self._register(
                    l["name"],
                    nn.Conv2d(l["in_channels"], l["out_channels"], l["kernel_size"], l["stride"], bias=l["bias"]),
                )
            elif t == "BatchNorm2d":
                self._register(l["name"], nn.BatchNorm2d(l["num_features"], eps=l["eps"]))
            elif t == "Select":
                self._register(l["name"], Select(l["out_features"]))
            elif t == "Residual":
                self._build(l["body"])
                self._build(l["shortcut"])

    def _run(self, layers, x):
        for l in layers:
            t = l["type"]
            if t == "Flatten":
                x = torch.flatten(x, 1)
            elif t in ("Linear", "BatchNorm2d", "Select"):
                x = self._get(l["name"])(x)
            elif t == "Conv2d":
                top, bottom, left, right = l["padding"]
                x = self._get(l["name"])(F.pad(x, (left, right, top, bottom)))
            elif t == "MaxPool2d":
                x = F.max_pool2d(x, l["kernel_size"], l["stride"])
            elif t == "GlobalAvgPool2d":
                x = x.mean(dim=(2, 3))
            elif t == "Residual":
                skip = self._run(l["shortcut"], x) if l["shortcut"] else x
                x = F.relu(self._run(l["body"], x) + skip)
            if l.get("activation") == "relu":
                x = F.relu(x)
        return x

    def forward(self, x):
        return self._run(self.arch["layers"], (x - self.input_mean) / self.input_std)


def load_ticket(path):
    tensors, metadata = read_safetensors(path)
    model = Ticket(json.loads(metadata["ticketlab.architecture"]))
    for name in [k[: -len(".weight_mask")] for k in tensors if k.endswith(".weight_mask")]:
        prune.custom_from_mask(model.get_submodule(name), "weight", tensors[name + ".weight_mask"])
    model.load_state_dict(tensors)
    return model.eval(), metadata


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path")
    p.add_argument("--input")
    p.add_argument("--expect")
    a = p.parse_args()
    model, metadata = load_ticket(a.path)
    print(metadata.get("description", ""))
    kept = sum(int(b.sum()) for n, b in model.named_buffers() if n.endswith("weight_mask"))
    total = sum(b.numel() for n, b in model.named_buffers() if n.endswith("weight_mask"))
    print(f"prunable weights kept: {kept} / {total} ({100 * kept / total:.1f}%)")
    if a.input and a.expect:
        c, h, w = model.arch["inputShape"]
        x = torch.frombuffer(bytearray(open(a.input, "rb").read()), dtype=torch.float32).reshape(-1, c, h, w)
        expected = torch.frombuffer(bytearray(open(a.expect, "rb").read()), dtype=torch.float32)
        with torch.no_grad():
            y = model(x).flatten()
        print(f"max abs difference from TicketLab: {(y - expected).abs().max().item():.3g}")


if __name__ == "__main__":
    main()
