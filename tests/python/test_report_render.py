"""The accuracy report (docs/accuracy.md, "The report"): the page that mixq.analyze / mixq.tune(report_dir=...)
and `mixq tune --report DIR` write carries the analysis' own figures, and headless Chromium renders it: the
screenshot shows the report's colours, the DOM has every section and chart, and no console message is logged.

The render test is skipped only when `chromium` is not installed (scripts/setup installs it)."""
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import mixq
from mixq_cli import run_mixq
from png_decode import decode_png
from test_py_analysis import sensitive_mlp

ATTRIBUTE = re.compile(r'([a-z0-9-]+)="([^"]*)"')


def elements(html, tag, class_prefix):
    """Attributes of every <tag> whose class starts with class_prefix, in page order."""
    found = []
    for match in re.finditer(rf"<{tag}(\s[^>]*)>", html):
        attrs = dict(ATTRIBUTE.findall(match.group(1)))
        if attrs.get("class", "").startswith(class_prefix):
            found.append(attrs)
    return found


@pytest.fixture(scope="module")
def sensitive(tmp_path_factory):
    """fc2 of this MLP needs 16 bits (test_py_analysis.sensitive_mlp); samples also written as .npy files."""
    folder = tmp_path_factory.mktemp("report")
    path = sensitive_mlp(folder / "sensitive.onnx")
    rng = np.random.default_rng(3)
    data = [rng.uniform(0, 1, (4, 16)).astype(np.float32) for _ in range(8)]
    calib = folder / "calib"
    calib.mkdir()
    for i, x in enumerate(data):
        np.save(calib / f"{i:03d}.npy", x)
    return path, data, calib


def calibrated(path, data):
    network = mixq.INetwork()
    mixq.IParser().parse(network, str(path))
    config = mixq.build_config("qint8_mixed_float32")
    mixq.calibrate(network, data, config)
    return network, config


def test_api_report_carries_the_analysis_figures(sensitive, tmp_path):
    path, data, _ = sensitive
    network, config = calibrated(path, data)
    result = mixq.analyze(network, data, config, report_dir=tmp_path / "analysis", report_title="sensitive <mlp>")
    html = (tmp_path / "analysis" / "index.html").read_text()
    bars = elements(html, "rect", "bar acc")
    assert [b["data-tensor"] for b in bars[:len(result.ranking)]] == [r.isolated[0].tensor for r in result.ranking]
    assert sorted(b["data-tensor"] for b in bars) == sorted(e.tensor for e in result.accumulated)
    by_tensor = {e.tensor: e.sqnr_db for e in result.accumulated}
    for bar in bars:
        assert float(bar["data-sqnr"]) == pytest.approx(by_tensor[bar["data-tensor"]], abs=1e-6)
    isolated = elements(html, "rect", "bar iso")
    assert [float(b["data-sqnr"]) for b in isolated] == pytest.approx(
        [r.isolated[0].sqnr_db for r in result.ranking], abs=1e-6)
    assert "<h1>mixq accuracy report: sensitive &lt;mlp&gt;</h1>" in html
    assert "No tuning was run" in html
    assert not elements(html, "circle", "candidate")

    # Tuning: one point per candidate, the chosen (last: the target is met; prefer_faster off, so that the
    # chosen plan does not depend on this machine's timings) marked.
    tuned = mixq.tune(network, data, config, min_cosine=0.9999, report_dir=tmp_path / "tune", prefer_faster=False)
    html = (tmp_path / "tune" / "index.html").read_text()
    points = elements(html, "circle", "candidate")
    assert len(points) == len(tuned.trajectory) >= 2
    assert [float(p["data-latency"]) for p in points] == pytest.approx(
        [c.latency_ms for c in tuned.trajectory], abs=1e-6)
    assert [float(p["data-y"]) for p in points] == pytest.approx(
        [c.output_sqnr_db for c in tuned.trajectory], abs=1e-6)
    assert [p["class"].endswith(" chosen") for p in points] == [False] * (len(points) - 1) + [True]
    # The graph shows the chosen plan: fc2 in qint16.
    boxes = {b["data-node"]: b["data-precision"] for b in elements(html, "g", "node ")}
    assert boxes["fc2"] == "qint16" and boxes["fc1"] == "qint8"

    # A directory that cannot be made: the error names it, before any analysis.
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(mixq.MixqError, match=re.escape(str(blocker / "out"))):
        mixq.analyze(network, data, config, report_dir=blocker / "out")


def chromium_run(chromium, url, tmp_path, *extra):
    return subprocess.run(
        [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000",
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'chromium-profile'}", *extra, url],
        capture_output=True, text=True, timeout=120)


def console_lines(stderr):
    # Chromium logs every console message (and uncaught exception) of the page as "...:CONSOLE(n)] ..." or
    # "...:CONSOLE:n] ...", depending on the version.
    return [line for line in stderr.splitlines() if re.search(r":CONSOLE[(:]", line)]


def test_cli_report_renders_in_headless_chromium(sensitive, build_dir, tmp_path):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (scripts/setup installs the Debian package)")
    path, _, calib = sensitive
    report = tmp_path / "report"
    proc = run_mixq(build_dir, "tune", path, "--calib-data", calib, "--min-cosine", "0.9999",
                    "-o", tmp_path / "tuned.json", "--report", report, "--first-met")
    candidates = int(re.search(r"after (\d+) candidates", proc.stdout).group(1))
    assert json.loads((tmp_path / "tuned.json").read_text())["precision_config"]["node_precision"] == {
        "fc2": "qint16"}

    screenshot = tmp_path / "report.png"
    run = chromium_run(chromium, (report / "index.html").as_uri(), tmp_path, f"--screenshot={screenshot}",
                       "--dump-dom")
    assert screenshot.is_file(), f"no screenshot; chromium exited {run.returncode}: {run.stderr[-2000:]}"
    assert console_lines(run.stderr) == []

    # The DOM Chromium built: every section, the charts, one box per plan node, one point per candidate.
    dom = run.stdout
    for section in ("summary", "errors", "graph", "latency", "trajectory"):
        assert f'<section id="{section}">' in dom, section
    assert dom.count("<svg") == 5  # error bars, plan graph, two time charts, trajectory
    assert len(elements(dom, "rect", "bar acc")) == 5  # h1 (fc1), relu1, fc2, relu2, y (fc3)
    boxes = {b["data-node"]: b["data-precision"] for b in elements(dom, "g", "node ")}
    assert {name: boxes[name] for name in ("fc1", "fc2", "fc3")} == {"fc1": "qint8", "fc2": "qint16", "fc3": "qint8"}
    assert set(boxes.values()) == {"input", "convert", "qint8", "qint16"}
    assert len(elements(dom, "circle", "candidate")) == candidates
    assert len(elements(dom, "circle", "candidate meets chosen")) == 1

    # The screenshot: not one flat colour, and the report's own colours drawn (SVG and CSS rendered).
    image = decode_png(screenshot)
    assert image.shape[:2] == (2000, 1280)
    rgb = image[:, :, :3].reshape(-1, 3)
    assert len(np.unique(rgb[::97], axis=0)) > 20

    def pixels(hex_colour):
        return int(np.all(rgb == np.frombuffer(bytes.fromhex(hex_colour), np.uint8), axis=1).sum())

    assert pixels("4c78a8") > 500  # accumulated bars
    assert pixels("f58518") > 500  # isolated bars
    assert pixels("f9cf8f") > 500  # qint16 boxes (fc2, and relu1 that writes its INT16 input)
    assert pixels("f4a6a6") > 500  # qint8 boxes


def test_console_check_sees_a_console_error(tmp_path):
    """The control for the check above: a page that logs an error is caught."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("chromium is not installed (scripts/setup installs the Debian package)")
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p><script>console.error('mixq-control-error')</script>"
                    "</body></html>")
    run = chromium_run(chromium, page.as_uri(), tmp_path, "--dump-dom")
    assert any("mixq-control-error" in line for line in console_lines(run.stderr)), run.stderr[-2000:]
