"""Layer-wise accuracy analysis (issue 13): from Python and from `mixq analyze`.

The network has one range set 100x too narrow by hand; the analysis must rank
its consumer first, and its accumulated figures must equal numpy's SQNR /
cosine / max-abs / relative-L2 over the tensors of float32 and quantized
builds in which every intermediate tensor is an output."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import mixq
from mixq_cli import run_mixq

TENSORS = ["h1", "r1", "h2", "r2", "y"]


def mlp(path, all_outputs=False):
    """x [N,16] -> fc1 -> relu1 -> fc2 -> relu2 -> fc3 -> y [N,8]."""
    rng = np.random.default_rng(5)
    w = {"w1": rng.uniform(-0.4, 0.4, (32, 16)), "w2": rng.uniform(-0.3, 0.3, (32, 32)),
         "w3": rng.uniform(-0.3, 0.3, (8, 32))}
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in w.items()]
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["h1"], name="fc1", transB=1),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu1"),
        helper.make_node("Gemm", ["r1", "w2"], ["h2"], name="fc2", transB=1),
        helper.make_node("Relu", ["h2"], ["r2"], name="relu2"),
        helper.make_node("Gemm", ["r2", "w3"], ["y"], name="fc3", transB=1),
    ]
    outputs = TENSORS if all_outputs else ["y"]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
                              [helper.make_tensor_value_info(t, TensorProto.FLOAT, None) for t in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path, {k: v.astype(np.float32) for k, v in w.items()}


def samples(count=8, seed=100):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (4, 16)).astype(np.float32) for _ in range(count)]


def broken_network(path, data, relu1_max):
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(path))
    config = mixq.build_config("qint8_mixed_float32")
    mixq.calibrate(network, data, config)
    network.find_tensor_by_name("r1").set_dynamic_range(mixq.Range(0.0, relu1_max / 100), True)
    return network, config


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    path, w = mlp(folder / "mlp.onnx")
    full_path, _ = mlp(folder / "mlp_all.onnx", all_outputs=True)
    data = samples()
    relu1_max = float(max(np.maximum(x @ w["w1"].T, 0).max() for x in data))
    return folder, path, full_path, data, relu1_max


def metrics(reference, test):
    r = np.concatenate([a.ravel() for a in reference]).astype(np.float64)
    t = np.concatenate([a.ravel() for a in test]).astype(np.float64)
    e = t - r
    return {"sqnr_db": 10 * np.log10(np.sum(r * r) / np.sum(e * e)),
            "cosine": np.dot(r, t) / np.sqrt(np.dot(r, r) * np.dot(t, t)),
            "max_abs": np.abs(e).max(), "relative_l2": np.sqrt(np.sum(e * e) / np.sum(r * r))}


def test_analysis_ranks_the_broken_layer_first_and_matches_numpy(setup):
    folder, path, full_path, data, relu1_max = setup
    network, config = broken_network(path, data, relu1_max)
    steps = []
    result = mixq.analyze(network, data, config, progress=lambda done, total, what: steps.append((done, total)))
    assert steps[-1] == (4, 4)
    assert result.samples == 8
    assert [r.node for r in result.ranking][0] == "fc2"
    assert sorted(r.node for r in result.ranking) == ["fc1", "fc2", "fc3"]
    assert result.ranking[0].network_output.sqnr_db + 15 < result.ranking[1].network_output.sqnr_db

    # Independent: the tensors themselves, from builds with every tensor an output.
    full_network, full_config = broken_network(full_path, data, relu1_max)
    quantized = mixq.Session(mixq.IBuilder().build_model("q", full_network, full_config))
    float_network = mixq.INetwork()
    mixq.IParser().parse(float_network, str(full_path))
    reference = mixq.Session(mixq.IBuilder().build_model("f", float_network, mixq.build_config("force_float32")))
    want = {t: [] for t in TENSORS}
    got = {t: [] for t in TENSORS}
    for x in data:
        for store, session in ((want, reference), (got, quantized)):
            for name, value in zip(TENSORS, session.run(TENSORS, {"x": x})):
                store[name].append(value)
    by_tensor = {e.tensor: e for e in result.accumulated}
    assert sorted(by_tensor) == sorted(TENSORS)
    for name in TENSORS:
        expected = metrics(want[name], got[name])
        for key, value in expected.items():
            assert getattr(by_tensor[name], key) == pytest.approx(value, rel=1e-9, abs=1e-12), (name, key)
    assert result.outputs[0].tensor == "y"

    doc = json.loads(result.to_json())
    assert doc["format"] == "mixq-accuracy-analysis"
    assert doc["ranking"][0]["node"] == "fc2"
    assert "fc2" in str(result)


def test_cli_analyze_writes_the_same_ranking(setup, build_dir, tmp_path):
    folder, path, _, data, relu1_max = setup
    calib = tmp_path / "calib"
    calib.mkdir()
    for i, x in enumerate(data):
        np.save(calib / f"{i:03d}.npy", x)
    # On the command line the broken range comes from custom_ranges.
    config = tmp_path / "cfg.json"
    config.write_text(json.dumps({"precision_config": {"custom_ranges": {"r1": [0.0, relu1_max / 100]}}}))
    out = tmp_path / "analysis.json"
    proc = run_mixq(build_dir, "analyze", path, "--calib-data", calib, "--precision", "qint8_mixed_float32",
                    "--config", config, "--json", out)
    doc = json.loads(out.read_text())
    assert doc["ranking"][0]["node"] == "fc2"
    assert doc["samples"] == 8
    lines = proc.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("rank"))
    assert lines[header + 1].split()[:2] == ["1", "fc2"]  # the first row of the ranking table
    # The same analysis through the API gives the same figures.
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(path))
    api_config = mixq.build_config("qint8_mixed_float32", custom_ranges={"r1": [0.0, relu1_max / 100]})
    mixq.calibrate(network, data, api_config)
    result = mixq.analyze(network, data, api_config)
    for row, e in zip(doc["accumulated"], result.accumulated):
        assert row["tensor"] == e.tensor
        assert row["sqnr_db"] == pytest.approx(e.sqnr_db, rel=1e-12)


def test_auto_algorithm_and_clip_warning_from_python(setup):
    _, path, _, data, _ = setup
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(path))
    config = mixq.build_config("qint8_mixed_float32", clip_warning_percent=0.0)
    mixq.calibrate(network, data, config, algo="auto")
    builder = mixq.IBuilder()
    builder.build_model("m", network, config)
    # With a 0 % threshold any clipping range is reported, by tensor name.
    for warning in builder.get_warnings():
        assert "clips" in warning and "observed max |x|" in warning
    assert mixq.quantization_algorithm_name(mixq.QuantizationAlgorithm.AUTO) == "auto"


def sensitive_mlp(path):
    """The MLP with relu1's channel 0 ~40x larger than the others and read by fc2 with a 40x smaller weight:
    per-tensor int8 on fc2's input rounds the channels that carry the signal to a few levels."""
    _, w = mlp(path)
    w["w1"][0, :] = 4.0
    w["w2"][:, 0] /= 40
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    model = onnx.load(str(path))
    del model.graph.initializer[:]
    model.graph.initializer.extend(inits)
    onnx.save(model, str(path))
    return path


def calibrated_sensitive_mlp(tmp_path):
    """(onnx path, 8 samples, the parsed network calibrated for qint8_mixed_float32, that config)."""
    path = sensitive_mlp(tmp_path / "sensitive.onnx")
    rng = np.random.default_rng(3)
    data = [rng.uniform(0, 1, (4, 16)).astype(np.float32) for _ in range(8)]
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(path))
    config = mixq.build_config("qint8_mixed_float32")
    mixq.calibrate(network, data, config)
    return path, data, network, config


def test_tune_promotes_exactly_the_sensitive_operator(tmp_path, build_dir):
    path, data, network, config = calibrated_sensitive_mlp(tmp_path)
    messages = []
    result = mixq.tune(network, data, config, min_cosine=0.9999, progress=lambda done, m: messages.append(m),
                       prefer_faster=False)
    assert result.target_met and result.stop_reason == "target met"
    assert result.chosen.node_precision == {"fc2": "qint16"}
    assert not result.trajectory[0].meets_target and result.trajectory[0].output_cosine < 0.9999
    assert len(messages) == len(result.trajectory)
    assert json.loads(result.config_json)["precision_config"]["node_precision"] == {"fc2": "qint16"}
    assert result.comparisons == []  # prefer_faster off: nothing timed in turn

    # prefer_faster: the plan without fc2's promotion is tried first and misses (not timed); fc2's float16
    # and float32 variants meet the target too; each is timed in turn with the best plan so far and kept
    # exactly when 5 % faster, the chosen plan being the last one kept.
    faster = mixq.tune(network, data, config, min_cosine=0.9999)
    assert faster.target_met and len(faster.comparisons) == 2
    first_met = next(i for i, c in enumerate(faster.trajectory) if c.meets_target)
    assert faster.trajectory[first_met + 1].node_precision == {}
    assert not faster.trajectory[first_met + 1].meets_target
    best = {"fc2": "qint16"}
    for c, precision in zip(faster.comparisons, ["float16", "float32"]):
        assert c.best == best and c.variant == {"fc2": precision} and not c.dropped
        assert c.best_ms > 0 and c.variant_ms > 0 and c.kept == (c.variant_ms < 0.95 * c.best_ms)
        best = c.variant if c.kept else best
    assert faster.chosen.node_precision == best

    calib = tmp_path / "calib"
    calib.mkdir()
    for i, x in enumerate(data):
        np.save(calib / f"{i:03d}.npy", x)
    out = tmp_path / "tuned.json"
    proc = run_mixq(build_dir, "tune", path, "--calib-data", calib, "--min-cosine", "0.9999", "-o", out, "--first-met")
    assert "target met" in proc.stdout
    # Progress: the analysis phase as a bar (a start and an end line off a terminal), then every candidate
    # with the time spent of the budget.
    assert "analysing" in proc.stderr and "harm order ready" in proc.stderr, proc.stderr
    assert "candidate 1 (" in proc.stderr and "of the 600 s budget): (start)" in proc.stderr, proc.stderr
    assert json.loads(out.read_text())["precision_config"]["node_precision"] == {"fc2": "qint16"}
    # The written config builds: fc2 runs in QINT16.
    tuned = mixq.IBuilderConfig()
    tuned.parse_from_file(str(out))
    model = mixq.IBuilder().build_model("tuned", network, tuned)
    rows = {row["node"]: row for row in json.loads(model.get_precision_report_json())["nodes"]}
    assert [i["actual"] for i in rows["fc2"]["inputs"]] == ["QINT16", "QINT16"]


def test_tune_starts_from_the_fastest_start_mode(tmp_path, build_dir):
    """start_modes: each mode timed here, the search starts from the fastest (its mode is in the config)."""
    path, data, network, config = calibrated_sensitive_mlp(tmp_path)
    modes = ["qint8_mixed_float32", "qint8_mixed_float16"]
    result = mixq.tune(network, data, config, min_cosine=0.9999, prefer_faster=False, start_modes=modes)
    assert sorted(result.start_ms) == sorted(modes) and all(ms > 0 for ms in result.start_ms.values())
    fastest = min(modes, key=lambda m: result.start_ms[m])
    assert json.loads(result.config_json)["precision_config"]["precision_mode"] == fastest
    assert result.target_met and result.chosen.node_precision == {"fc2": "qint16"}

    calib = tmp_path / "calib"
    calib.mkdir()
    for i, x in enumerate(data):
        np.save(calib / f"{i:03d}.npy", x)
    out = tmp_path / "tuned.json"
    proc = run_mixq(build_dir, "tune", path, "--calib-data", calib, "--min-cosine", "0.9999", "-o", out,
                    "--first-met", "--start-modes", "qint8_mixed_float16")
    assert "start: starting from qint8_mixed_float16" in proc.stderr
    assert json.loads(out.read_text())["precision_config"]["precision_mode"] == "qint8_mixed_float16"
    # Bad input: a list with no mode is a usage error naming the flag; an unknown mode is named.
    bad = run_mixq(build_dir, "tune", path, "--calib-data", calib, "-o", tmp_path / "bad.json", "--start-modes", ",",
                   check=False)
    assert bad.returncode != 0 and "--start-modes: no mode in ','" in bad.stderr, bad.stderr
    with pytest.raises(mixq.MixqError, match="start mode 'qint3_mixed_float32'"):
        mixq.tune(network, data, config, start_modes=["qint3_mixed_float32"])


def test_tune_with_a_python_metric(tmp_path):
    """The callback path: the user's own metric (here: the share of output elements within 0.02 of float)
    decides; an exception in it propagates with its traceback."""
    _, data, network, config = calibrated_sensitive_mlp(tmp_path)
    calls = []

    def within(candidate, reference):
        assert len(candidate) == len(reference) == 8
        got = np.concatenate([c["y"].ravel() for c in candidate])
        want = np.concatenate([r["y"].ravel() for r in reference])
        calls.append(float(np.mean(np.abs(got - want) <= 0.02)))
        return calls[-1]

    result = mixq.tune(network, data, config, metric=within, min_metric=0.99)
    assert result.target_met
    # fc2 alone is promoted; prefer_faster (the default) may keep float16 or float32 for it if faster here.
    assert list(result.chosen.node_precision) == ["fc2"] and result.chosen.meets_target
    assert [c.metric for c in result.trajectory] == calls
    assert calls[0] < 0.99 <= calls[-1]

    def broken(candidate, reference):
        raise ValueError("my metric failed")

    with pytest.raises(ValueError, match="my metric failed"):
        mixq.tune(network, data, config, metric=broken)
