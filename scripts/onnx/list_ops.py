#!/usr/bin/python3
"""Lists the ONNX operators a model uses, for the importer's authors.

    /usr/bin/python3 scripts/onnx/list_ops.py [-v] MODEL.onnx...

For each model: opset, inputs and outputs with their shapes (a name stands
for a dynamic dimension), then each op type with its count. With -v, also
each distinct form of each op: its attributes and which inputs are
initializers (C) or Constant nodes' outputs (K) rather than computed
tensors (x).
"""
import collections
import sys

import onnx
from onnx import helper, numpy_helper


def dims(vi):
    t = vi.type.tensor_type
    ds = [d.dim_param or str(d.dim_value) for d in t.shape.dim]
    return "%s %s[%s]" % (vi.name, onnx.TensorProto.DataType.Name(t.elem_type),
                          "x".join(ds))


def attr_text(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        v = v.decode()
    elif isinstance(v, onnx.TensorProto):
        arr = numpy_helper.to_array(v)
        v = "tensor%s%s" % (list(arr.shape),
                            "=" + str(arr.tolist()) if arr.size <= 8 else "")
    elif isinstance(v, list):
        v = list(v)
    return "%s=%s" % (a.name, v)


def main(argv):
    verbose = "-v" in argv
    paths = [a for a in argv if a != "-v"]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for path in paths:
        m = onnx.load(path)
        g = m.graph
        inits = {i.name: i for i in g.initializer}
        opsets = ", ".join("%s %d" % (o.domain or "ai.onnx", o.version)
                           for o in m.opset_import)
        print("%s: opset %s; %d nodes, %d initializers" %
              (path, opsets, len(g.node), len(inits)))
        for vi in g.input:
            if vi.name not in inits:
                print("  input  " + dims(vi))
        for vi in g.output:
            print("  output " + dims(vi))
        counts = collections.Counter(n.op_type for n in g.node)
        forms = collections.defaultdict(collections.Counter)
        konst = {o for n in g.node if n.op_type == "Constant"
                 for o in n.output}
        for n in g.node:
            const = "".join("C" if i in inits else "K" if i in konst
                            else "-" if i == "" else "x" for i in n.input)
            form = "inputs %s" % const
            attrs = [attr_text(a) for a in n.attribute]
            if attrs:
                form += "; " + ", ".join(attrs)
            forms[n.op_type][form] += 1
        print("  ops: " + ", ".join("%s %d" % kv for kv in sorted(counts.items())))
        if verbose:
            print("  forms (inputs: x computed, C initializer, K output of a "
                  "Constant node, - omitted):")
            for op in sorted(forms):
                for form, k in sorted(forms[op].items()):
                    print("    %-20s %3d  %s" % (op, k, form))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
