"""Decomposed activations and LayerNorm as exporters write them in ONNX
(PyTorch's GELU / SiLU / hardsigmoid / LayerNorm below the opsets that have
them), made with the onnx helper: `mixq build` fuses each into one node (the
report has one Activation / LayerNorm naming the nodes it replaced) and
`mixq run` matches ONNX Runtime on the spelled-out graph within 1e-5 of
max|ort|; one near miss per model (an intermediate also a graph output)
stays spelled out and matches as well.
"""
import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import file_name_for, run_mixq

SHAPE = (2, 7, 24)


def scalar(name, value):
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def gelu_erf():
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"])]
    return nodes, [scalar("sqrt2", 1.4142135), scalar("one", 1.0), scalar("half", 0.5)], "Activation", "e"


def gelu_tanh():
    nodes = [helper.make_node("Pow", ["x", "three"], ["p"]), helper.make_node("Mul", ["c", "p"], ["cp"]),
             helper.make_node("Add", ["x", "cp"], ["s"]), helper.make_node("Mul", ["s", "k"], ["u"]),
             helper.make_node("Tanh", ["u"], ["t"]), helper.make_node("Add", ["t", "one"], ["a"]),
             helper.make_node("Mul", ["half", "x"], ["h"]), helper.make_node("Mul", ["h", "a"], ["y"])]
    inits = [scalar("three", 3.0), scalar("c", 0.044715), scalar("k", 0.7978845608), scalar("one", 1.0),
             scalar("half", 0.5)]
    return nodes, inits, "Activation", "t"


def silu():
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    return nodes, [], "Activation", "s"


def hard_sigmoid():
    nodes = [helper.make_node("Add", ["x", "three"], ["a"]), helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
             helper.make_node("Div", ["c", "six"], ["y"])]
    return nodes, [scalar("three", 3.0), scalar("zero", 0.0), scalar("six", 6.0)], "Activation", "c"


def layer_norm():
    rng = np.random.default_rng(3)
    nodes = [helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1]), helper.make_node("Sub", ["x", "m"], ["d"]),
             helper.make_node("Pow", ["d", "two"], ["p"]), helper.make_node("ReduceMean", ["p"], ["v"], axes=[-1]),
             helper.make_node("Add", ["v", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["s"]),
             helper.make_node("Div", ["d", "s"], ["n"]), helper.make_node("Mul", ["n", "gamma"], ["g"]),
             helper.make_node("Add", ["g", "beta"], ["y"])]
    inits = [scalar("two", 2.0), scalar("eps", 1e-5),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, SHAPE[-1]).astype(np.float32), "gamma"),
             numpy_helper.from_array(rng.uniform(-1, 1, SHAPE[-1]).astype(np.float32), "beta")]
    return nodes, inits, "LayerNorm", "d"


PATTERNS = {"gelu_erf": gelu_erf, "gelu_tanh": gelu_tanh, "silu": silu, "hard_sigmoid": hard_sigmoid,
            "layer_norm": layer_norm}


def save(path, nodes, inits, extra_output=None):
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)]
    if extra_output:
        outputs.append(helper.make_tensor_value_info(extra_output, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "pattern", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


@pytest.mark.parametrize("name", sorted(PATTERNS))
@pytest.mark.parametrize("near_miss", [False, True])
def test_decomposed_pattern_is_fused_and_matches_onnxruntime(name, near_miss, build_dir, tmp_path):
    nodes, inits, fused_op, intermediate = PATTERNS[name]()
    onnx_path = tmp_path / f"{name}.onnx"
    save(onnx_path, nodes, inits, intermediate if near_miss else None)
    x = np.random.default_rng(4).uniform(-6, 6, SHAPE).astype(np.float32)
    x.flat[:3] = [0.0, -20.0, 20.0]
    np.save(tmp_path / "x.npy", x)
    model = tmp_path / f"{name}.mixq"
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    report = json.loads(run_mixq(build_dir, "inspect", model, "--json").stdout)
    fused = [row for row in report["nodes"] if row["fused"]]
    if near_miss:
        assert fused == [], report["nodes"]
        assert len(report["nodes"]) == len(nodes)
    else:
        assert [row["op"] for row in report["nodes"]] == [fused_op]
        assert len(fused[0]["fused"]) == len(nodes)
    run_mixq(build_dir, "run", model, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", tmp_path / "out")
    want = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    got = np.load(tmp_path / "out" / file_name_for("y"))
    assert got.shape == want.shape
    rel = np.abs(got - want).max() / np.abs(want).max()
    assert rel <= 1e-5, f"{name}: max|mixq-ort|/max|ort| = {rel:.3g}"
