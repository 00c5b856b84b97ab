"""A Linear layer as exporters write it in ONNX (MatMul with a constant weight,
Add of a constant bias [N]), then GELU in each form mixq imports (the Gelu op
of opset 20, approximate "none" / "tanh", and PyTorch's decomposed erf and
tanh graphs below it), then a residual Add, made with the onnx helper:
`mixq inspect --plan` shows one MatMul step with the bias, the GELU and the
residual fused (post-ops add, gelu_*, add), and `mixq run` matches
`mixq run --reference` (no fusion at all) and ONNX Runtime within 2e-5 of
max|y| (float32 sums of K = 256 in another order, GELU within a few ulp).
Near misses stay separate steps: a bias per row ([M, 1]), a bias that is a
graph input, and a product that is also a graph output.
"""
import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import file_name_for, run_mixq

M, K = 24, 256  # N = K: the residual is x itself; 24 rows and K = 256 take avx2-f32


def scalar(name, value):
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def gelu_nodes(form):
    """GELU of "b" into "g"; (nodes, initializers, opset)."""
    if form in ("op_none", "op_tanh"):
        return [helper.make_node("Gelu", ["b"], ["g"], approximate=form[3:])], [], 20
    if form == "erf":
        nodes = [helper.make_node("Div", ["b", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
                 helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["b", "a"], ["m"]),
                 helper.make_node("Mul", ["m", "half"], ["g"])]
        return nodes, [scalar("sqrt2", 1.4142135), scalar("one", 1.0), scalar("half", 0.5)], 13
    nodes = [helper.make_node("Pow", ["b", "three"], ["p"]), helper.make_node("Mul", ["c", "p"], ["cp"]),
             helper.make_node("Add", ["b", "cp"], ["s"]), helper.make_node("Mul", ["s", "k"], ["u"]),
             helper.make_node("Tanh", ["u"], ["t"]), helper.make_node("Add", ["t", "one"], ["a"]),
             helper.make_node("Mul", ["half", "b"], ["h"]), helper.make_node("Mul", ["h", "a"], ["g"])]
    inits = [scalar("three", 3.0), scalar("c", 0.044715), scalar("k", 0.7978845608), scalar("one", 1.0),
             scalar("half", 0.5)]
    return nodes, inits, 13


def save(path, form, bias_shape=(K,), bias_is_input=False, product_is_output=False):
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array(rng.uniform(-0.1, 0.1, (K, K)).astype(np.float32), "w")
    bias = numpy_helper.from_array(rng.uniform(-1, 1, bias_shape).astype(np.float32), "bias")
    g_nodes, g_inits, opset = gelu_nodes(form)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["mm"], name="linear"),
             helper.make_node("Add", ["mm", "bias"], ["b"], name="bias_add"), *g_nodes,
             helper.make_node("Add", ["g", "x"], ["y"], name="residual")]
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, M, K))]
    inits = [w, *g_inits]
    if bias_is_input:
        inputs.append(helper.make_tensor_value_info("bias", TensorProto.FLOAT, bias_shape))
    else:
        inits.append(bias)
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, M, K))]
    if product_is_output:
        outputs.append(helper.make_tensor_value_info("mm", TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "linear", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return bias


def linear_step(build_dir, model):
    plan = json.loads(run_mixq(build_dir, "inspect", model, "--plan", "--json").stdout)["plan"]
    steps = [s for s in plan["steps"] if s["node"] == "linear"]
    assert len(steps) == 1, plan["steps"]
    return steps[0], len(plan["steps"])


def run(build_dir, model, feeds, out_dir, reference=False):
    args = ["run", model, "--output-dir", out_dir, "--threads", "1"]
    for name, path in feeds.items():
        args += ["--input", f"{name}={path}"]
    run_mixq(build_dir, *args, *(["--reference"] if reference else []))
    return np.load(out_dir / file_name_for("y"))


@pytest.mark.parametrize("form", ["op_none", "op_tanh", "erf", "tanh"])
def test_linear_bias_gelu_residual_is_one_step(form, build_dir, tmp_path):
    onnx_path = tmp_path / f"{form}.onnx"
    save(onnx_path, form)
    model = tmp_path / f"{form}.mixq"
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    step, count = linear_step(build_dir, model)
    if step["kernel"] != "avx2-f32":
        pytest.skip(f"no AVX2 on this CPU (kernel {step['kernel']})")
    gelu = "gelu_tanh" if form in ("op_tanh", "tanh") else "gelu_erf"
    assert step["post_ops"] == ["add", gelu, "add"], step
    assert step["fused"][0] == "bias_add" and step["fused"][-1] == "residual", step
    assert count == 1
    x = np.random.default_rng(6).uniform(-2, 2, (1, M, K)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    got = run(build_dir, model, {"x": tmp_path / "x.npy"}, tmp_path / "fast")
    ref = run(build_dir, model, {"x": tmp_path / "x.npy"}, tmp_path / "ref", reference=True)
    want = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    assert got.shape == want.shape == ref.shape
    scale = np.abs(ref).max()
    assert np.abs(got - ref).max() <= 2e-5 * scale, f"{form}: max|fast-reference| = {np.abs(got - ref).max():.3g}"
    assert np.abs(got - want).max() <= 2e-5 * scale, f"{form}: max|fast-ort| = {np.abs(got - want).max():.3g}"


@pytest.mark.parametrize("miss", ["bias_per_row", "bias_is_input", "product_is_output"])
def test_near_misses_stay_separate(miss, build_dir, tmp_path):
    onnx_path = tmp_path / f"{miss}.onnx"
    bias_shape = (M, 1) if miss == "bias_per_row" else (K,)
    bias = save(onnx_path, "op_none", bias_shape, bias_is_input=miss == "bias_is_input",
                product_is_output=miss == "product_is_output")
    model = tmp_path / f"{miss}.mixq"
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    step, count = linear_step(build_dir, model)
    assert step["fused"] == [] and step["post_ops"] == [], step
    assert count >= 3  # the product, the bias add, GELU (+ the residual add when GELU does not take it)
    x = np.random.default_rng(6).uniform(-2, 2, (1, M, K)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    feeds = {"x": tmp_path / "x.npy"}
    ort_feeds = {"x": x}
    if miss == "bias_is_input":
        b = numpy_helper.to_array(bias)
        np.save(tmp_path / "bias.npy", b)
        feeds["bias"] = tmp_path / "bias.npy"
        ort_feeds["bias"] = b
    got = run(build_dir, model, feeds, tmp_path / "fast")
    want = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["y"], ort_feeds)[0]
    assert np.abs(got - want).max() <= 2e-5 * np.abs(want).max()
