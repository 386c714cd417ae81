#!/usr/bin/python3
"""Exports the real models of the ONNX comparison, with random weights.

Run with Debian's /usr/bin/python3 (python3-torch 1.13, python3-torchvision
0.14, python3-onnx, python3-numpy; scripts/onnx/install_deps.sh installs
them):

    /usr/bin/python3 scripts/onnx/export_models.py OUT_DIR [--force] [MODEL...]

For each model NAME it writes OUT_DIR/NAME.onnx and a seeded random input
OUT_DIR/NAME.input.npy (float32). A model whose two files exist and are
newer than this script is kept (the cache); --force exports again.

Models (all in eval mode, weights drawn with fixed seeds):
  resnet18      torchvision resnet18, input "input" 1x3x224x224, output
                "output" 1x1000; static shapes.
  mobilenet_v2  torchvision mobilenet_v2, input "input" Nx3x224x224 with a
                dynamic batch axis "batch" (dlcc needs
                --shape input=1x3x224x224), output "output" Nx1000.
  transformer   a small BERT-style encoder: torch.nn.TransformerEncoder,
                d_model 128, 4 heads, feed-forward 512, GELU, post-norm,
                2 layers, batch_first; input "input" 1x32x128 (embeddings),
                output "output" 1x32x128.
  bert          a BERT-base-sized encoder (bench/run.sh): the same Encoder
                with d_model 768, 12 heads, feed-forward 3072, 2 layers;
                input "input" 1x128x768 (embeddings, sequence 128), output
                "output" 1x128x768; static shapes.
  resnet50      torchvision resnet50 (bench/run.sh: compile time), input
                "input" 1x3x224x224, output "output" 1x1000; static shapes.
Without model names, the first three are exported (the ONNX comparison's
set); "all" names every model.
The BatchNorm running statistics and affine parameters are random too (the
defaults would make them identities), so that they are not trivial.
"""
import os
import sys
import time

import numpy as np
import torch
import torchvision

OPSET = 14
SEED = 0

# name -> (input shape, dynamic batch axis?)
MODELS = {
    "resnet18": ((1, 3, 224, 224), False),
    "mobilenet_v2": ((1, 3, 224, 224), True),
    "transformer": ((1, 32, 128), False),
    "bert": ((1, 128, 768), False),
    "resnet50": ((1, 3, 224, 224), False),
}
# What an invocation without model names exports (the ONNX comparison's).
DEFAULT_MODELS = ["resnet18", "mobilenet_v2", "transformer"]


def randomize_batchnorm(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)


class Encoder(torch.nn.Module):
    def __init__(self, d_model=128, nhead=4, dim_ff=512, layers=2):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward=dim_ff, dropout=0.0,
            activation="gelu", batch_first=True, norm_first=False)
        self.encoder = torch.nn.TransformerEncoder(
            layer, layers, enable_nested_tensor=False)
        # TransformerEncoder deep-copies one layer, so every layer would
        # start with the same weights (and the exporter would share them
        # through Identity nodes): draw each layer's anew.
        for p in self.encoder.parameters():
            with torch.no_grad():
                if p.dim() > 1:
                    torch.nn.init.xavier_uniform_(p)
                else:
                    p.normal_(0.0, 0.1)
        for m in self.encoder.modules():
            if isinstance(m, torch.nn.LayerNorm):
                with torch.no_grad():
                    m.weight.add_(1.0)

    def forward(self, x):
        return self.encoder(x)


def build(name):
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED + 1)
    if name == "resnet18":
        model = torchvision.models.resnet18(weights=None)
        randomize_batchnorm(model, gen)
    elif name == "mobilenet_v2":
        model = torchvision.models.mobilenet_v2(weights=None)
        randomize_batchnorm(model, gen)
    elif name == "transformer":
        model = Encoder()
    elif name == "bert":
        model = Encoder(d_model=768, nhead=12, dim_ff=3072, layers=2)
    elif name == "resnet50":
        model = torchvision.models.resnet50(weights=None)
        randomize_batchnorm(model, gen)
    else:
        raise SystemExit("export_models: unknown model %r" % name)
    return model.eval()


def export(name, out_dir):
    shape, dynamic_batch = MODELS[name]
    model = build(name)
    rng = np.random.default_rng(SEED + 2)
    x = rng.standard_normal(shape).astype(np.float32)
    onnx_path = os.path.join(out_dir, name + ".onnx")
    npy_path = os.path.join(out_dir, name + ".input.npy")
    dynamic_axes = None
    if dynamic_batch:
        dynamic_axes = {"input": {0: "batch"}, "output": {0: "batch"}}
    # Not under torch.no_grad(): in eval mode without autograd, torch 1.13's
    # TransformerEncoderLayer takes its fused fast path
    # (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
    torch.onnx.export(
        model, (torch.from_numpy(x),), onnx_path + ".tmp",
        input_names=["input"], output_names=["output"],
        dynamic_axes=dynamic_axes, opset_version=OPSET,
        do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(onnx_path + ".tmp"))
    os.replace(onnx_path + ".tmp", onnx_path)
    np.save(npy_path, x)


def fresh(name, out_dir):
    me = os.path.getmtime(os.path.abspath(__file__))
    for suffix in (".onnx", ".input.npy"):
        p = os.path.join(out_dir, name + suffix)
        if not os.path.exists(p) or os.path.getmtime(p) < me:
            return False
    return True


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    force = "--force" in argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, names = args[0], args[1:] or DEFAULT_MODELS
    if names == ["all"]:
        names = list(MODELS)
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(os.cpu_count() or 1)
    for name in names:
        if name not in MODELS:
            print("export_models: unknown model %r (known: %s)"
                  % (name, " ".join(MODELS)), file=sys.stderr)
            return 2
        if not force and fresh(name, out_dir):
            print("export %-13s cached" % name)
            continue
        t = time.monotonic()
        export(name, out_dir)
        print("export %-13s %.1f s" % (name, time.monotonic() - t))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
