"""Small ONNX models and helpers shared by the Python-package tests (test_py_*.py)."""
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def small_cnn(path: pathlib.Path) -> pathlib.Path:
    """x [N,3,8,8] -> Conv 3x3 pad 1 (4 ch) -> Relu -> MaxPool 2 -> Flatten -> Gemm (5) -> Softmax."""
    rng = np.random.default_rng(7)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 4).astype(np.float32), "conv_b"),
        numpy_helper.from_array(rng.normal(0, 0.3, (5, 64)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(rng.normal(0, 0.1, 5).astype(np.float32), "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv_w", "conv_b"], ["conv"], name="conv", kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
        helper.make_node("MaxPool", ["relu"], ["pool"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["prob"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(nodes, "small_cnn",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 5]),
                               helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def two_inputs(path: pathlib.Path) -> pathlib.Path:
    """a [2,3], b [3,4] -> MatMul: both inputs are quantizable activations; swapped inputs would not fit."""
    nodes = [helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul")]
    graph = helper.make_graph(nodes, "two_inputs",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, [3, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def calibration_images(count: int = 6, seed: int = 3) -> list:
    """float32 [1,3,8,8] samples with different ranges, so min/max come from different samples."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(0, 1, (1, 3, 8, 8)) * (0.5 + k / count)).astype(np.float32) for k in range(count)]


def ort_outputs(onnx_path, feeds: dict) -> dict:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def assert_int8_close(got: np.ndarray, want: np.ndarray) -> None:
    """int8 quantization error on these small models: within 5% of the output's range, and not zero
    (equal results would mean the model silently ran in float)."""
    scale = float(np.abs(want).max())
    error = float(np.abs(got.astype(np.float64) - want).max())
    assert 0 < error <= 0.05 * scale, (error, scale)
