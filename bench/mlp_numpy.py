#!/usr/bin/python3
"""The examples/mlp.dsl model in numpy, timed like dlcc-run --bench: one
warm-up, then N runs; prints the median and minimum in ms. Run with
Debian's /usr/bin/python3."""
import json
import struct
import sys
import time

import numpy as np

root = sys.argv[1]
n = int(sys.argv[2])
raw = open(f"{root}/examples/mlp.safetensors", "rb").read()
hlen = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + hlen])
data = raw[8 + hlen:]
w = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
                      np.float32).reshape(v["shape"])
     for k, v in header.items() if k != "__metadata__"}
b2 = np.zeros(10, np.float32)
x = np.load(f"{root}/examples/x.npy")


def mlp(x):
    h = np.maximum(x @ w["w1"] + w["b1"], 0)
    z = h @ w["w2"] + b2
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


mlp(x)
times = []
for _ in range(n):
    t0 = time.perf_counter()
    mlp(x)
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(f"{times[len(times) // 2]:.4f} {times[0]:.4f}")
