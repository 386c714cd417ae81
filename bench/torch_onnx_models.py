#!/usr/bin/python3
"""PyTorch's latency on the models that bench/run.sh runs through dlcc and
ONNX Runtime, with the same weights: each model is built by
scripts/onnx/export_models.py's build() (same module, same seeds), in eval
mode under torch.no_grad(), on the same input (MODEL_DIR/NAME.input.npy).

    torch_onnx_models.py THREADS MIN_RUNS MIN_SECONDS MODEL_DIR OUT_DIR NAME...

torch.set_num_threads(THREADS); one warm-up run, then at least MIN_RUNS
timed runs and at least MIN_SECONDS of them. For each model prints
"NAME median_ms min_ms runs" (or "NAME error MESSAGE") and writes the output
to OUT_DIR/NAME.torch.npy. Run with Debian's /usr/bin/python3.
"""
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts", "onnx"))
import export_models  # noqa: E402


def main(argv):
    if len(argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    threads, min_runs, min_s = int(argv[0]), int(argv[1]), float(argv[2])
    model_dir, out_dir, names = argv[3], argv[4], argv[5:]
    torch.set_num_threads(threads)
    for name in names:
        try:
            model = export_models.build(name)
            x = torch.from_numpy(
                np.load(os.path.join(model_dir, name + ".input.npy")))
            with torch.no_grad():
                y = model(x)
                times = []
                while len(times) < min_runs or sum(times) < min_s * 1e3:
                    t0 = time.perf_counter()
                    y = model(x)
                    times.append((time.perf_counter() - t0) * 1e3)
            np.save(os.path.join(out_dir, name + ".torch.npy"),
                    y.numpy().astype(np.float32))
            times.sort()
            n = len(times)
            med = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
            print(f"{name} {med:.4f} {times[0]:.4f} {n}", flush=True)
        except Exception as e:  # report and go on with the next model
            msg = " ".join(str(e).split())[:200] or type(e).__name__
            print(f"{name} error {msg}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
