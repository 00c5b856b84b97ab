"""Elementwise + FakeQuantize fusion on an imported QDQ model: a QDQ model
fake-quantizes the output of every float operator mixq does not quantize
(PP-OCR's decomposed hard_swish: Add, Clip, Mul, Div, each followed by a
QuantizeLinear / DequantizeLinear pair, which mixq imports as FakeQuantize).
Made with the onnx helper: `mixq inspect --plan` shows each Elementwise step
with its FakeQuantize fused (post-op fake_quantize), `mixq run` gives
bit-identical outputs to `mixq run --reference` (no fusion at all), and
matches ONNX Runtime running the QDQ model within one quantization step of
the output. Near miss: an Add whose output has a second consumer keeps its
FakeQuantize as its own step.
"""
import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import file_name_for, run_mixq

SHAPE = (1, 3, 37, 41)  # 4551 values: two 2048-value chunks, then 455 (a tail of 7 past the 8-wide loop)


def const(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def qdq(source, out, scale, zero, inits, nodes):
    """QuantizeLinear -> DequantizeLinear of `source` into `out` (uint8)."""
    inits += [const(f"{out}_s", scale), const(f"{out}_z", zero, np.uint8)]
    nodes += [helper.make_node("QuantizeLinear", [source, f"{out}_s", f"{out}_z"], [f"{out}_q"], name=f"{out}_Q"),
              helper.make_node("DequantizeLinear", [f"{out}_q", f"{out}_s", f"{out}_z"], [out], name=f"{out}_DQ")]


def save(path, second_consumer=False):
    """x -> QDQ -> Add 3 -> QDQ -> Clip 0..6 -> QDQ -> Mul(x, .) -> QDQ -> Div 6 -> QDQ -> y: hard_swish as a
    QDQ model decomposes it. second_consumer: the Add's float output is also a graph output."""
    inits, nodes = [const("three", 3.0), const("zero", 0.0), const("six", 6.0)], []
    qdq("x", "xq", 0.031, 128, inits, nodes)
    nodes.append(helper.make_node("Add", ["xq", "three"], ["a"], name="add3"))
    qdq("a", "aq", 0.027, 20, inits, nodes)
    nodes.append(helper.make_node("Clip", ["aq", "zero", "six"], ["c"], name="clip"))
    qdq("c", "cq", 6.0 / 255, 0, inits, nodes)
    nodes.append(helper.make_node("Mul", ["xq", "cq"], ["m"], name="mul"))
    qdq("m", "mq", 0.09, 60, inits, nodes)
    nodes.append(helper.make_node("Div", ["mq", "six"], ["d"], name="div6"))
    qdq("d", "y", 0.015, 60, inits, nodes)
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)]
    if second_consumer:
        outputs.append(helper.make_tensor_value_info("a", TensorProto.FLOAT, SHAPE))
    graph = helper.make_graph(nodes, "qdq_hard_swish", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


def plan_steps(build_dir, model):
    plan = json.loads(run_mixq(build_dir, "inspect", model, "--plan", "--json").stdout)["plan"]
    if "avx2" not in plan["cpu_features"].split():
        pytest.skip("no AVX2 on this CPU: the fused kernel needs it")
    return plan["steps"]


def run(build_dir, model, x_path, out_dir, reference=False):
    run_mixq(build_dir, "run", model, "--output-dir", out_dir, "--threads", "1", "--input", f"x={x_path}",
             *(["--reference"] if reference else []))
    return np.load(out_dir / file_name_for("y"))


def test_elementwise_steps_take_their_fake_quantize(build_dir, tmp_path):
    onnx_path = tmp_path / "hs.onnx"
    save(onnx_path)
    model = tmp_path / "hs.mixq"
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    steps = plan_steps(build_dir, model)
    by_node = {s["node"]: s for s in steps}
    for node in ("add3", "mul", "div6"):
        step = by_node[node]
        assert step["kernel"] == "cpu-fast", step
        assert step["post_ops"] == ["fake_quantize"], step
        assert len(step["fused"]) == 1, step
    # The input's FakeQuantize has no Elementwise before it; clip's output is fake-quantized too (its own step
    # or fused: Clip is an Activation here, not an anchor).
    assert sum(1 for s in steps if s["op"] == "FakeQuantize") == 2, [(s["op"], s["node"]) for s in steps]
    x = np.random.default_rng(7).uniform(-5, 5, SHAPE).astype(np.float32)
    x.flat[:4] = [-3.0, 3.0, 0.0, 100.0]
    np.save(tmp_path / "x.npy", x)
    got = run(build_dir, model, tmp_path / "x.npy", tmp_path / "fast")
    ref = run(build_dir, model, tmp_path / "x.npy", tmp_path / "ref", reference=True)
    assert np.array_equal(got.view(np.uint32), ref.view(np.uint32)), np.abs(got - ref).max()
    want = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    assert np.abs(got - want).max() <= 0.015 + 1e-6  # one step of y's quantization
    assert len(np.unique(got)) > 20  # the values are real codes, not a constant


def test_second_consumer_keeps_the_fake_quantize_apart(build_dir, tmp_path):
    onnx_path = tmp_path / "hs2.onnx"
    save(onnx_path, second_consumer=True)
    model = tmp_path / "hs2.mixq"
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    by_node = {s["node"]: s for s in plan_steps(build_dir, model)}
    assert by_node["add3"]["fused"] == [] and by_node["add3"]["post_ops"] == [], by_node["add3"]
    x = np.random.default_rng(8).uniform(-5, 5, SHAPE).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    got = run(build_dir, model, tmp_path / "x.npy", tmp_path / "fast")
    ref = run(build_dir, model, tmp_path / "x.npy", tmp_path / "ref", reference=True)
    assert np.array_equal(got.view(np.uint32), ref.view(np.uint32))
