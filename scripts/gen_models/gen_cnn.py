"""Writes torchvision-shaped ResNet-50 and MobileNetV2 ONNX models with random weights.

No PyTorch: the graphs are built with onnx.helper in the layout torchvision's
exporter produces (NCHW, Conv + BatchNormalization + Relu / Clip(0, 6),
MaxPool, residual Add, GlobalAveragePool, Flatten, Gemm). Weights are random
but scaled like a trained network so activations stay O(1) through 50 layers:
He (fan-in) initialised convolutions, batch-norm statistics near the identity,
and a small gamma on the last batch norm of every residual branch (as
torchvision's zero_init_residual, but not zero, so the branch still matters).

Usage: python gen_cnn.py OUT_DIR [--only resnet50|mobilenetv2]
"""
import argparse
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13


class GraphBuilder:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self.count = 0

    def name(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count}"

    def const(self, prefix: str, value: np.ndarray) -> str:
        n = self.name(prefix)
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), n))
        return n

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1) -> str:
        fan_in = (cin // group) * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(cout, cin // group, k, k))
        out = self.name("conv")
        pad = k // 2
        self.nodes.append(
            helper.make_node("Conv", [x, self.const("W", w)], [out], name=out, kernel_shape=[k, k],
                             strides=[stride, stride], pads=[pad] * 4, group=group, dilations=[1, 1]))
        return out

    def bn(self, x: str, c: int, gamma_scale: float = 1.0) -> str:
        # Statistics near what a He-initialised conv produces (mean ~0, var ~ O(1)),
        # so normalisation keeps the scale instead of amplifying it.
        gamma = self.rng.uniform(0.7, 1.1, size=c) * gamma_scale
        beta = self.rng.normal(0.0, 0.1, size=c)
        mean = self.rng.normal(0.0, 0.1, size=c)
        var = self.rng.uniform(1.0, 2.0, size=c)
        out = self.name("bn")
        ins = [x] + [self.const(p, v) for p, v in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))]
        self.nodes.append(helper.make_node("BatchNormalization", ins, [out], name=out, epsilon=1e-5))
        return out

    def op(self, op_type: str, inputs, **attrs) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def relu6(self, x: str) -> str:
        lo = self.const("clip_min", np.array(0.0))
        hi = self.const("clip_max", np.array(6.0))
        return self.op("Clip", [x, lo, hi])

    def head(self, x: str, cin: int, classes: int) -> str:
        pooled = self.op("GlobalAveragePool", [x])
        flat = self.op("Flatten", [pooled], axis=1)
        w = self.rng.normal(0.0, np.sqrt(1.0 / cin), size=(classes, cin))
        b = self.rng.normal(0.0, 0.01, size=classes)
        return self.op("Gemm", [flat, self.const("fc_W", w), self.const("fc_b", b)], alpha=1.0, beta=1.0, transB=1)

    def model(self, graph_name: str, x: str, y: str, classes: int) -> onnx.ModelProto:
        inp = helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 3, 224, 224])
        out = helper.make_tensor_value_info(y, TensorProto.FLOAT, ["N", classes])
        self.nodes.append(helper.make_node("Identity", [self.nodes[-1].output[0]], [y], name="output"))
        graph = helper.make_graph(self.nodes, graph_name, [inp], [out], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="mixq gen_cnn.py")
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def resnet50(seed: int = 50) -> onnx.ModelProto:
    """torchvision resnet50 (v1.5: stride on the 3x3 conv of each bottleneck)."""
    g = GraphBuilder(seed)
    x = g.op("Relu", [g.bn(g.conv("input", 3, 64, 7, stride=2), 64)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            s = stride if b == 0 else 1
            cout = width * 4
            y = g.op("Relu", [g.bn(g.conv(x, cin, width, 1), width)])
            y = g.op("Relu", [g.bn(g.conv(y, width, width, 3, stride=s), width)])
            y = g.bn(g.conv(y, width, cout, 1), cout, gamma_scale=0.25)
            shortcut = x
            if s != 1 or cin != cout:
                shortcut = g.bn(g.conv(x, cin, cout, 1, stride=s), cout)
            x = g.op("Relu", [g.op("Add", [y, shortcut])])
            cin = cout
    g.head(x, 2048, 1000)
    return g.model("resnet50", "input", "logits", 1000)


def mobilenetv2(seed: int = 2) -> onnx.ModelProto:
    """torchvision mobilenet_v2 (width 1.0): inverted residuals, ReLU6 as Clip(0, 6)."""
    g = GraphBuilder(seed)
    x = g.relu6(g.bn(g.conv("input", 3, 32, 3, stride=2), 32))
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x
            if t != 1:
                y = g.relu6(g.bn(g.conv(y, cin, hidden, 1), hidden))
            y = g.relu6(g.bn(g.conv(y, hidden, hidden, 3, stride=stride, group=hidden), hidden))
            residual = stride == 1 and cin == c
            y = g.bn(g.conv(y, hidden, c, 1), c, gamma_scale=0.5 if residual else 1.0)
            x = g.op("Add", [x, y]) if residual else y
            cin = c
    x = g.relu6(g.bn(g.conv(x, cin, 1280, 1), 1280))
    g.head(x, 1280, 1000)
    return g.model("mobilenetv2", "input", "logits", 1000)


GENERATORS = {"resnet50": resnet50, "mobilenetv2": mobilenetv2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=pathlib.Path)
    parser.add_argument("--only", choices=sorted(GENERATORS))
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, make in GENERATORS.items():
        if args.only and name != args.only:
            continue
        path = args.out_dir / f"{name}.onnx"
        tmp = path.with_suffix(".onnx.tmp")
        onnx.save(make(), str(tmp))
        tmp.replace(path)  # never leave a half-written model behind
        print(f"[gen_cnn] wrote {path}")


if __name__ == "__main__":
    main()
