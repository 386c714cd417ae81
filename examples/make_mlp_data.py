#!/usr/bin/python3
"""Writes examples/mlp.safetensors (random weights for mlp.dsl, seeded) and
examples/x.npy (one input image: a soft diagonal stroke). Run with Debian's
/usr/bin/python3 (numpy); the outputs are committed."""
import json
import os
import struct

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)


def uniform(shape, fan_in):
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


tensors = {
    "w1": uniform((784, 256), 784),
    "b1": uniform((256,), 784),
    "w2": uniform((256, 10), 256),
}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"producer": "examples/make_mlp_data.py"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


write_safetensors(os.path.join(here, "mlp.safetensors"), tensors)
img = np.zeros((28, 28), np.float32)
for i in range(28):
    for j in range(28):
        img[i, j] = np.exp(-((i - j) ** 2) / 8.0)
np.save(os.path.join(here, "x.npy"), img.reshape(1, 784))
