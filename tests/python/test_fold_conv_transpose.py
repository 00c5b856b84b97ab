"""Build-time folds into a ConvTranspose (src/passes/fold_batch_norm.cc), the
head of PP-OCR det as PaddlePaddle exports it: ConvTranspose -> Add of a
per-channel bias [1, C, 1, 1] -> BatchNorm -> ReLU -> ConvTranspose -> Add.
The Add becomes the ConvTranspose's bias and the BatchNorm its scale and
shift, so the plan holds two ConvTranspose steps and no Add or BatchNorm;
the outputs match ONNX Runtime within float32 rounding (1e-5 relative).
Near misses keep their steps: a full-shape addend (not per channel), a
grouped ConvTranspose; a bias-add output read twice keeps the BatchNorm."""
import json

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import file_name_for, run_mixq

SHAPE = (1, 6, 9, 11)


def head_model(path, variant="plain"):
    rng = np.random.default_rng(8)
    c = SHAPE[1]
    group = 2 if variant == "grouped" else 1
    inits = [numpy_helper.from_array(rng.normal(0, 0.3, (c, c // group, 2, 2)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.normal(0, 0.3, (c, 1, 2, 2)).astype(np.float32), "w2"),
             numpy_helper.from_array(rng.normal(0, 0.5, (1, 1, 1, 1)).astype(np.float32), "b2")]
    if variant == "full_addend":
        inits.append(numpy_helper.from_array(rng.normal(0, 0.5, (1, c, 18, 22)).astype(np.float32), "b1"))
    else:
        inits.append(numpy_helper.from_array(rng.normal(0, 0.5, (1, c, 1, 1)).astype(np.float32), "b1"))
    for name, lo, hi in (("mean", -0.5, 0.5), ("var", 0.2, 3.0), ("gamma", 0.5, 1.5), ("beta", -0.3, 0.3)):
        inits.append(numpy_helper.from_array(rng.uniform(lo, hi, c).astype(np.float32), name))
    nodes = [helper.make_node("ConvTranspose", ["x", "w1"], ["t1"], name="deconv1", strides=[2, 2], group=group),
             helper.make_node("Add", ["t1", "b1"], ["a1"], name="bias1"),
             helper.make_node("BatchNormalization", ["a1", "gamma", "beta", "mean", "var"], ["n1"], name="bn"),
             helper.make_node("Relu", ["n1"], ["r1"], name="relu"),
             helper.make_node("ConvTranspose", ["r1", "w2"], ["t2"], name="deconv2", strides=[2, 2]),
             helper.make_node("Add", ["t2", "b2"], ["y"], name="bias2")]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 1, 36, 44))]
    if variant == "read_twice":
        outputs.append(helper.make_tensor_value_info("a1", TensorProto.FLOAT, (1, c, 18, 22)))
    graph = helper.make_graph(nodes, "deconv_head", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())


@pytest.mark.parametrize("variant", ["plain", "full_addend", "grouped", "read_twice"])
def test_bias_add_and_batch_norm_fold_into_a_conv_transpose(build_dir, tmp_path, variant):
    onnx_path = tmp_path / "head.onnx"
    head_model(onnx_path, variant)
    model = tmp_path / "head.mixq"
    run_mixq(build_dir, "build", onnx_path, "-o", model, "--precision", "force_float32")
    report = json.loads(run_mixq(build_dir, "inspect", model, "--json").stdout)["nodes"]
    fused = {n["node"]: n.get("fused", []) for n in report}
    ops = [n["op"] for n in report]
    if variant == "plain":
        assert ops == ["ConvTranspose2D", "Activation", "ConvTranspose2D"], ops
        assert fused["deconv1"] == ["node 'bias1' (Elementwise)", "node 'bn' (BatchNorm)"], fused
        assert fused["deconv2"] == ["node 'bias2' (Elementwise)"], fused
    elif variant == "read_twice":  # the bias folds (the ConvTranspose writes a1); the BatchNorm, on a1, stays
        assert ops == ["ConvTranspose2D", "BatchNorm", "Activation", "ConvTranspose2D"], ops
        assert fused["deconv1"] == ["node 'bias1' (Elementwise)"], fused
    else:  # the first ConvTranspose keeps its Add and BatchNorm; the second one's bias still folds
        assert ops.count("BatchNorm") == 1 and ops.count("Elementwise") == 1, ops
        assert fused["deconv1"] == [] and fused["deconv2"] == ["node 'bias2' (Elementwise)"], fused
    x = np.random.default_rng(9).uniform(-2, 2, SHAPE).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run_mixq(build_dir, "run", model, "--output-dir", tmp_path / "out", "--input", f"x={tmp_path / 'x.npy'}")
    got = np.load(tmp_path / "out" / file_name_for("y"))
    want = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(["y"], {"x": x})[0]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    assert len(np.unique(got)) > 100
