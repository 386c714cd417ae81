#!/usr/bin/python3
"""PyTorch's latency on the architectures of examples/resnet18.dsl and
examples/bert_layer.dsl (random weights, eval mode, no autograd), timed like
dlcc-run --bench: one warm-up, then N runs; prints 'name median_ms min_ms'.
Usage: torch_models.py THREADS RUNS. Run with Debian's /usr/bin/python3."""
import sys
import time

import torch
import torchvision

threads, runs = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)


def bench(name, model, *inputs):
    with torch.no_grad():
        model(*inputs)
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            model(*inputs)
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(f"{name} {times[len(times) // 2]:.3f} {times[0]:.3f}", flush=True)


resnet = torchvision.models.resnet18(weights=None).eval()
bench("resnet18", resnet, torch.rand(1, 3, 224, 224))

layer = torch.nn.TransformerEncoderLayer(768, 12, 3072, dropout=0.0,
                                         activation="gelu", batch_first=True,
                                         layer_norm_eps=1e-12).eval()
bench("bert_layer", layer, torch.rand(1, 128, 768))
