#!/usr/bin/python3
"""Compares dlcc's output with ONNX Runtime's.

    /usr/bin/python3 scripts/onnx/compare.py DLCC.npy ORT.npy [TOL]

Relative error, as this comparison defines it, is taken over the whole
output tensor, relative to the reference's largest magnitude:

    max_rel_err = max(|dlcc - ort|) / max(|ort|)
    max_abs_err = max(|dlcc - ort|)

(A per-element |a-b|/|b| would blow up on outputs near zero, which any
real model has.) The model passes when max_rel_err <= TOL (default 1e-4)
and both tensors have the same shape and dtype, with no NaN or Inf in
dlcc's output where ORT has none.

Prints one line, "MAX_REL_ERR MAX_ABS_ERR" (or "- - REASON" when the
tensors cannot be compared), and exits 0 on a pass, 1 on a failure,
2 on a usage error.
"""
import sys

import numpy as np


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    tol = float(argv[2]) if len(argv) == 3 else 1e-4
    a = np.load(argv[0])
    b = np.load(argv[1])
    if a.shape != b.shape or a.dtype != b.dtype:
        print("- - dlcc gave %s%s, ORT %s%s" % (a.dtype, list(a.shape),
                                                b.dtype, list(b.shape)))
        return 1
    a64 = a.astype(np.float64)
    b64 = b.astype(np.float64)
    if not np.isfinite(b64).all():
        print("- - ORT's output has NaN or Inf")
        return 1
    if not np.isfinite(a64).all():
        print("- - dlcc's output has %d NaN or Inf" % (~np.isfinite(a64)).sum())
        return 1
    abs_err = float(np.abs(a64 - b64).max()) if a.size else 0.0
    scale = float(np.abs(b64).max()) if b.size else 0.0
    if scale == 0.0:
        rel_err = 0.0 if abs_err == 0.0 else float("inf")
    else:
        rel_err = abs_err / scale
    print("%.3e %.3e" % (rel_err, abs_err))
    return 0 if rel_err <= tol else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
