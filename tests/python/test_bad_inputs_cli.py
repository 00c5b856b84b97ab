"""The bad-input catalogue, CLI half (issue 14): bad files and command lines
given to the `mixq` tool. Each case states the exit code and words of the
one-line error that name the culprit; warnings (NaN fed to a quantized model,
a NaN reference in `compare`, ignored or renamed calibration inputs, an
all-zero calibration range) are checked with their exact text. The C++ half
is tests/unit/bad_input_catalogue_test.cc; docs/reliability.md counts both.
"""
import json
import os
import pathlib
import zipfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from mixq_cli import run_mixq
from test_cli import assert_one_line_error, small_cnn


def linear_cnn(path):
    """x [1,3,8,8] -> Conv 3x3 pad 1 (4 ch) -> Flatten -> Gemm (5) -> logits: no clamp anywhere."""
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.normal(0, 0.2, (5, 256)).astype(np.float32), "fc_w")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "fc_w"], ["logits"], transB=1)]
    graph = helper.make_graph(nodes, "linear", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture(scope="module")
def files(build_dir, tmp_path_factory):
    """Every file the cases need, made once."""
    d = tmp_path_factory.mktemp("bad_inputs")
    f = {"dir": d / "a_folder"}
    f["dir"].mkdir()
    f["cnn"] = small_cnn(d / "cnn.onnx")
    f["model"] = d / "cnn.mixq"
    run_mixq(build_dir, "build", f["cnn"], "-o", f["model"])
    f["q8dyn"] = d / "cnn_q8dyn.mixq"
    cfg = d / "dyn.json"
    cfg.write_text(json.dumps({"precision_config": {"activation_quant_mode": "dynamic"}}))
    run_mixq(build_dir, "build", f["cnn"], "-o", f["q8dyn"], "--precision", "qint8_mixed_float32", "--config", cfg)
    # Conv -> Flatten -> Gemm with no clamp between: NaN stays NaN in float.
    f["linear"] = linear_cnn(d / "linear.onnx")
    f["linear_q8dyn"] = d / "linear_q8dyn.mixq"
    run_mixq(build_dir, "build", f["linear"], "-o", f["linear_q8dyn"], "--precision", "qint8_mixed_float32",
             "--config", cfg)

    def config(name, text):
        (d / name).write_text(text)
        f[name.replace(".json", "")] = d / name

    config("huge_number.json", '{"precision_config": {"custom_ranges": {"conv": [-1e400, 1]}}}')
    config("duplicate.json", '{"precision_config": {"precision_mode": "force_float32", "precision_mode": "force_float16"}}')
    config("unknown_key.json", '{"precision_config": {"precision_mod": "force_float32"}}')
    config("bad_value.json", '{"precision_config": {"weight_quant_granularity": "per_pixel"}}')
    config("deep.json", "[" * 100000 + "]" * 100000)
    config("min_gt_max.json", '{"precision_config": {"custom_ranges": {"conv": [3, -3]}}}')

    # Sparse files: their size is over the readers' limit, no byte is stored or read.
    for key, name in (("big_model", "big.mixq"), ("big_npy", "big.npy")):
        with open(d / name, "wb") as out:
            out.truncate((4 << 30) + 1)
        f[key] = d / name

    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32)
    np.save(d / "x.npy", x)
    (d / "truncated.npy").write_bytes((d / "x.npy").read_bytes()[:100])
    nan = x.copy()
    nan[0, 0, 0, 0] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "x_f64.npy", x.astype(np.float64))
    np.save(d / "x_rank3.npy", x[0])

    calib = d / "calib_ok"
    calib.mkdir()
    for i in range(2):
        np.savez(calib / f"s{i}.npz", x=np.random.default_rng(i).uniform(-1, 1, (1, 3, 8, 8)).astype(np.float32))
    renamed = d / "calib_renamed"
    renamed.mkdir()
    np.savez(renamed / "s0.npz", image=x)
    zeros = d / "calib_zeros"
    zeros.mkdir()
    np.savez(zeros / "s0.npz", x=np.zeros((1, 3, 8, 8), np.float32))
    truncated = d / "calib_truncated"
    truncated.mkdir()
    np.savez(d / "full.npz", x=x)
    (truncated / "s0.npz").write_bytes((d / "full.npz").read_bytes()[:200])
    (d / "calib_empty").mkdir()
    for name in ("calib_ok", "calib_renamed", "calib_zeros", "calib_truncated", "calib_empty"):
        f[name] = d / name

    def onnx_file(name, nodes, inputs=("x",), inits=(), outputs=("y",)):
        graph = helper.make_graph(nodes, name,
                                  [helper.make_tensor_value_info(i, TensorProto.FLOAT, [1, 4]) for i in inputs],
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, 4]) for o in outputs],
                                  list(inits))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        path = d / "onnx" / f"{name}.onnx"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(model.SerializeToString())  # onnx.save would check the graph
        f[name] = path

    dynamic = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "dynamic",
                                [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "C", "H", "W"])],
                                [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "C", "H", "W"])])
    f["dynamic"] = d / "dynamic.onnx"
    onnx.save(helper.make_model(dynamic, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(f["dynamic"]))
    onnx_file("cycle", [helper.make_node("Relu", ["b"], ["a"], name="r1"), helper.make_node("Add", ["a", "x"], ["b"], name="add"),
                        helper.make_node("Relu", ["b"], ["y"], name="r2")])
    onnx_file("dangling", [helper.make_node("Add", ["x", "ghost"], ["y"], name="add")])
    onnx_file("unsupported", [helper.make_node("Einsum", ["x"], ["y"], name="ein", equation="ij->ij")])
    (d / "outside.bin").write_bytes(np.ones(4, np.float32).tobytes())
    os.symlink(d / "outside.bin", d / "onnx" / "weights.bin")
    def external(location):
        t = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 4])
        t.data_location = TensorProto.EXTERNAL
        t.external_data.add(key="location", value=location)
        return t

    w = external("weights.bin")
    onnx_file("symlinked_weights", [helper.make_node("Add", ["x", "w"], ["y"], name="add")], inits=[w])
    w2 = external("../outside.bin")
    onnx_file("dotdot_weights", [helper.make_node("Add", ["x", "w"], ["y"], name="add")], inits=[w2])
    return f


# (id, argv with {placeholders} for files, exit code, fragments of the one error line)
CASES = [
    ("model is a folder", ["inspect", "{dir}"], 1, ["is a directory", "a_folder"]),
    ("model file over 4 GiB", ["inspect", "{big_model}"], 1, ["big.mixq", "limit of 4294967296"]),
    ("model is missing", ["inspect", "{dir}/nope.mixq"], 1, ["nope.mixq"]),
    ("onnx is a folder", ["build", "{dir}", "-o", "{dir}/o.mixq"], 1, ["ONNX file", "is a directory"]),
    ("onnx with a cycle", ["build", "{cycle}", "-o", "{dir}/o.mixq"], 1, ["cycle"]),
    ("onnx with a dangling input", ["build", "{dangling}", "-o", "{dir}/o.mixq"], 1, ["'ghost'"]),
    ("onnx with an unsupported op", ["build", "{unsupported}", "-o", "{dir}/o.mixq"], 1, ["Einsum"]),
    ("onnx external data through a symlink", ["build", "{symlinked_weights}", "-o", "{dir}/o.mixq"], 1,
     ["'weights.bin'", "outside the model's folder"]),
    ("onnx external data with ..", ["build", "{dotdot_weights}", "-o", "{dir}/o.mixq"], 1, ["'../outside.bin'"]),
    ("config is /dev/zero", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "/dev/zero"], 2,
     ["--config", "limit of 67108864 bytes"]),
    ("config number -1e400", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "{huge_number}"], 2,
     ["cannot represent"]),
    ("config duplicate key", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "{duplicate}"], 2,
     ["'precision_mode' appears twice"]),
    ("config unknown key", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "{unknown_key}"], 2,
     ["precision_config.precision_mod"]),
    ("config out-of-range value", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "{bad_value}"], 2,
     ["weight_quant_granularity", "'per_pixel'"]),
    ("config nested 100,000 deep", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "{deep}"], 2,
     ["deeper than 64 levels"]),
    ("config range min > max", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--config", "{min_gt_max}"], 2,
     ["custom_ranges.conv", "min > max"]),
    ("input shape of 12 TB", ["build", "{dynamic}", "-o", "{dir}/o.mixq", "--input-shape", "x:1000000x3x1000x1000"], 1,
     ["'x'", "1 TiB"]),
    ("input shape overflowing int64", ["build", "{dynamic}", "-o", "{dir}/o.mixq", "--input-shape",
                                       "x:4294967296x4294967296x8x8"], 1, ["more elements than int64 can count"]),
    ("run input .npy over 4 GiB", ["run", "{model}", "-i", "{big_npy}", "-o", "{dir}/out"], 2,
     ["big.npy", "limit of 4294967296"]),
    ("run input .npy truncated", ["run", "{model}", "-i", "{dir}/../truncated.npy", "-o", "{dir}/out"], 2,
     ["truncated.npy"]),
    ("run input of the wrong rank", ["run", "{model}", "-i", "{dir}/../x_rank3.npy", "-o", "{dir}/out"], 1,
     ["input 'x' has dims [3,8,8]", "expects [-1,3,8,8]"]),
    ("calibration set empty", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--precision", "qint8_mixed_float32",
                               "--calib-data", "{calib_empty}"], 1, ["holds no .npy / .npz sample"]),
    ("calibration .npz truncated", ["build", "{cnn}", "-o", "{dir}/o.mixq", "--precision", "qint8_mixed_float32",
                                    "--calib-data", "{calib_truncated}"], 1, ["s0.npz"]),
    ("bench with 0 threads", ["bench", "{model}", "--threads", "0", "--shape", "x:1x3x8x8"], 2, ["--threads"]),
    ("bench with 10,000 threads", ["bench", "{model}", "--threads", "10000", "--shape", "x:1x3x8x8"], 2,
     ["--threads", "1024"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_named_error(build_dir, files, case):
    _, argv, code, fragments = case
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in argv]
    proc = run_mixq(build_dir, *args, check=False, timeout=120)
    assert_one_line_error(proc, code)
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr
    assert "Aborted" not in proc.stderr and "terminate" not in proc.stderr


def warnings_of(proc):
    return [line for line in proc.stderr.splitlines() if "warning:" in line]


def test_nan_input_to_a_quantized_model_is_reported(build_dir, files, tmp_path):
    proc = run_mixq(build_dir, "run", files["q8dyn"], "-i", files["dir"].parent / "nan.npy", "-o", tmp_path)
    assert warnings_of(proc) == [
        "mixq run: warning: input 'x' holds 1 NaN and 0 infinite values; quantized (QINT8 / QINT16) steps of this "
        "model turn NaN into 0 and saturate infinities, float steps propagate them except relu, relu6 and clip, "
        "which map NaN to their lower bound"]
    assert np.isfinite(np.load(tmp_path / "logits.npy")).all()
    # A float model prints no warning. Its convolution spreads the NaN and the
    # relu after it maps NaN to 0 (docs/reliability.md): finite logits, the
    # same with the relu fused into oneDNN's convolution as with the reference
    # kernels. (ONNX Runtime 1.20's relu propagates the NaN instead.)
    proc = run_mixq(build_dir, "run", files["model"], "-i", files["dir"].parent / "nan.npy", "-o", tmp_path / "f")
    assert warnings_of(proc) == []
    run_mixq(build_dir, "run", files["model"], "--reference", "-i", files["dir"].parent / "nan.npy", "-o",
             tmp_path / "r")
    got, want = np.load(tmp_path / "f" / "logits.npy"), np.load(tmp_path / "r" / "logits.npy")
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    clean = run_mixq(build_dir, "run", files["model"], "-i", files["dir"].parent / "x.npy", "-o", tmp_path / "c")
    assert warnings_of(clean) == []
    assert not np.array_equal(np.load(tmp_path / "c" / "logits.npy"), got)  # the NaN did change something


def test_compare_with_a_nan_reference_is_not_a_perfect_match(build_dir, files):
    # No clamp in this model: the float32 reference's logits are NaN, the
    # dynamic int8 model's finite (its NaN became 0).
    proc = run_mixq(build_dir, "compare", files["linear"], files["linear_q8dyn"], "-i",
                    files["dir"].parent / "nan.npy", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split()[2:] for line in proc.stdout.splitlines()[1:]}
    assert rows["logits"] == ["nan", "nan", "nan"], proc.stdout
    assert ("mixq compare: warning: output 'logits': 5 of 5 elements are NaN or infinite in only one of mixq and "
            "the float32 reference (or infinite with different signs)") in proc.stderr


def test_calib_percentile_without_the_percentile_algorithm_warns(build_dir, files, tmp_path):
    proc = run_mixq(build_dir, "build", files["cnn"], "-o", tmp_path / "q.mixq", "--precision", "qint8_mixed_float32",
                    "--calib-data", files["calib_ok"], "--calib-algo", "entropy", "--calib-percentile", "99.9")
    assert warnings_of(proc) == [
        "mixq build: warning: --calib-percentile is ignored: --calib-algo is entropy, not percentile or auto"]


def test_npz_array_with_another_name_warns(build_dir, files, tmp_path):
    proc = run_mixq(build_dir, "build", files["cnn"], "-o", tmp_path / "q.mixq", "--precision", "qint8_mixed_float32",
                    "--calib-data", files["calib_renamed"])
    sample = files["calib_renamed"] / "s0.npz"
    assert warnings_of(proc) == [
        f"mixq build: warning: calibration sample '{sample}' holds one array named 'image', not 'x'; it is used as "
        "input 'x' (further samples like this are not reported)"]


def test_all_zero_calibration_range_warns(build_dir, files, tmp_path):
    proc = run_mixq(build_dir, "build", files["cnn"], "-o", tmp_path / "q.mixq", "--precision", "qint8_mixed_float32",
                    "--calib-data", files["calib_zeros"])
    warned = warnings_of(proc)
    assert ("mixq build: warning: calibration: tensor 'x' was 0 in every calibration sample: its range is [0, 0], so "
            "it is quantized with scale 1 and every value becomes 0") in warned, proc.stderr


def test_catalogue_size():
    # docs/reliability.md: 25 error cases here + 5 warning cases below them.
    assert len(CASES) == 25
