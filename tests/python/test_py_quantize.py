"""ONNX -> quantize -> run from Python, compared with float (ONNX Runtime) and,
bit for bit, with the C++ command-line tool on the same model and inputs."""
import json

import numpy as np
import pytest

import mixq
from mixq_cli import run_mixq
from py_models import assert_int8_close, calibration_images, ort_outputs, small_cnn, two_inputs


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    return small_cnn(tmp_path_factory.mktemp("onnx") / "cnn.onnx")


def test_quantize_runs_close_to_float_and_reports_int8(cnn):
    images = calibration_images(8)
    model = mixq.quantize(cnn, images, precision_mode="qint8_mixed_float32", algo="linear",
                          weight_quant_granularity="per_axis")
    session = mixq.Session(model)
    x = np.random.default_rng(11).normal(size=(4, 3, 8, 8)).astype(np.float32)
    prob, logits = session.run(None, {"x": x})
    want = ort_outputs(cnn, {"x": x})
    assert logits.dtype == np.float32 and logits.shape == (4, 5)
    assert_int8_close(logits, want["logits"])
    assert (prob.argmax(axis=1) == want["prob"].argmax(axis=1)).all()
    rows = {row["op"]: row for row in session.precision_report()}
    assert [i["actual"] for i in rows["Conv2D"]["inputs"]] == ["QINT8", "QINT8", "FLOAT32"]
    assert [i["actual"] for i in rows["FullyConnected"]["inputs"]] == ["QINT8", "QINT8", "FLOAT32"]
    assert [i["actual"] for i in rows["Softmax"]["inputs"]] == ["FLOAT32"]
    float_model = mixq.Session(cnn)  # an .onnx path: built in float32
    np.testing.assert_allclose(float_model.run(["logits"], {"x": x})[0], want["logits"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("algo", ["linear", "eqnm", "entropy", "percentile"])
def test_every_algorithm_builds_a_working_model(cnn, algo):
    images = calibration_images(8)
    model = mixq.quantize(cnn, images, precision_mode="qint8_mixed_float32", algo=algo, percentile=99.0)
    x = images[0]
    logits = mixq.Session(model).run(["logits"], {"x": x})[0]
    assert_int8_close(logits, ort_outputs(cnn, {"x": x})["logits"])


def test_statistics_file_reloads_with_another_algorithm(cnn, tmp_path):
    images = calibration_images(8)
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(cnn))
    config = mixq.build_config("qint8_mixed_float32")
    mixq.calibrate(network, images, config, algo="linear", statistics_file=tmp_path / "cnn.mixqcal")
    linear = mixq.IBuilder().build_model("linear", network, config)

    reloaded = mixq.INetwork()
    mixq.IParser().parse(reloaded, str(cnn))
    calibrator = mixq.ICalibrator(mixq.ArrayCalibData([]))  # no data needed to reload
    calibrator.set_quantization_algorithm(mixq.QuantizationAlgorithm.PERCENTILE, 90.0)
    calibrator.load_statistics(reloaded, str(tmp_path / "cnn.mixqcal"))
    calibrator.write_range_table(reloaded, config, str(tmp_path / "p90.json"))
    p90 = json.loads((tmp_path / "p90.json").read_text())
    everything = np.concatenate([image.ravel() for image in images])
    low, high = p90["ranges"]["x"]
    assert p90["algorithm"] == "percentile"
    assert everything.min() < low < 0 < high < everything.max()  # 90th percentile: inside min/max

    # Same statistics + linear again = the same model as calibrating from the data.
    calibrator.set_quantization_algorithm(mixq.QuantizationAlgorithm.LINEAR)
    calibrator.load_statistics(reloaded, str(tmp_path / "cnn.mixqcal"))
    again = mixq.IBuilder().build_model("linear", reloaded, config)
    x = images[3]
    np.testing.assert_array_equal(mixq.Session(again).run(None, {"x": x})[1], mixq.Session(linear).run(None, {"x": x})[1])

    # A hand-edited range table is used as given.
    table = json.loads((tmp_path / "p90.json").read_text())
    table["ranges"]["x"] = [-1.0, 1.0]
    (tmp_path / "edited.json").write_text(json.dumps(table))
    calibrator.read_range_table(reloaded, str(tmp_path / "edited.json"))
    calibrator.write_range_table(reloaded, config, str(tmp_path / "back.json"))
    assert json.loads((tmp_path / "back.json").read_text())["ranges"]["x"] == [-1.0, 1.0]


def test_calibrate_from_dicts_and_tuples_for_two_inputs(tmp_path):
    onnx_path = two_inputs(tmp_path / "two.onnx")
    rng = np.random.default_rng(5)
    pairs = [(rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)) for _ in range(4)]
    all_a = np.concatenate([p[0].ravel() for p in pairs])
    all_b = np.concatenate([p[1].ravel() for p in pairs])
    for k, samples in enumerate([[{"b": b, "a": a} for a, b in pairs], pairs]):  # dicts by name, tuples in order
        network = mixq.INetwork()
        mixq.IParser().parse(network, str(onnx_path))
        config = mixq.build_config("qint8_mixed_float32")
        calibrator = mixq.calibrate(network, samples, config)
        path = tmp_path / f"ranges{k}.json"
        calibrator.write_range_table(network, config, str(path))
        ranges = json.loads(path.read_text())["ranges"]
        assert ranges["a"] == pytest.approx([all_a.min(), all_a.max()], rel=1e-6)
        assert ranges["b"] == pytest.approx([all_b.min(), all_b.max()], rel=1e-6)
        model = mixq.IBuilder().build_model("two", network, config)
        a, b = pairs[1]
        assert_int8_close(mixq.Session(model).run(None, {"b": b, "a": a})[0], a @ b)


def test_python_equals_cli_bit_for_bit(build_dir, cnn, tmp_path):
    """The same samples and input through Python and through `mixq build` / `mixq run` (C++)."""
    images = calibration_images(6)
    (tmp_path / "calib").mkdir()
    for k, image in enumerate(images):
        np.save(tmp_path / "calib" / f"sample_{k:02d}.npy", image)
    x = np.random.default_rng(21).normal(size=(2, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)

    py_model = mixq.quantize(cnn, images, precision_mode="qint8_mixed_float32", algo="entropy")
    py_model.serialize_to_file(str(tmp_path / "py.mixq"))
    run_mixq(build_dir, "build", cnn, "-o", tmp_path / "cli.mixq", "--precision", "qint8_mixed_float32",
             "--calib-data", tmp_path / "calib", "--calib-algo", "entropy")

    py_out = mixq.Session(py_model).run(None, {"x": x})
    for model_file in ("py.mixq", "cli.mixq"):
        out_dir = tmp_path / f"out_{model_file}"
        run_mixq(build_dir, "run", tmp_path / model_file, "--input", f"x={tmp_path / 'x.npy'}", "--output-dir", out_dir)
        for name, got in zip(["prob", "logits"], mixq.Session(tmp_path / model_file).run(None, {"x": x})):
            cli = np.load(out_dir / f"{name}.npy")
            assert cli.dtype == got.dtype and cli.shape == got.shape
            assert cli.tobytes() == got.tobytes(), (model_file, name)
    # Python-built and CLI-built models agree too: the same calibration gave the same model.
    for ours, theirs in zip(py_out, mixq.Session(tmp_path / "cli.mixq").run(None, {"x": x})):
        assert ours.tobytes() == theirs.tobytes()
