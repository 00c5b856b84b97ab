"""The Python API reference and stubs are current, and the quick-start example works."""
import pathlib
import re
import subprocess
import sys

import numpy as np

from py_models import calibration_images, ort_outputs, small_cnn

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_api_reference_and_stubs_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "python" / "tools" / "gen_python_api.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_stubs_ship_with_the_package():
    import mixq

    package = pathlib.Path(mixq.__file__).parent
    assert (package / "_mixq.pyi").is_file() and (package / "py.typed").is_file()
    assert "def add_i_conv_node(self" in (package / "_mixq.pyi").read_text()


def test_quickstart_example(tmp_path):
    onnx_path = small_cnn(tmp_path / "cnn.onnx")
    (tmp_path / "calib").mkdir()
    images = calibration_images(5)
    for k, image in enumerate(images):
        np.save(tmp_path / "calib" / f"{k:03d}.npy", image)
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "python_quickstart.py"), str(onnx_path),
                           str(tmp_path / "calib"), str(tmp_path / "cnn.mixq")],
                          capture_output=True, text=True, check=True)
    assert (tmp_path / "cnn.mixq").is_file()
    assert re.search(r"Conv2D\s+QINT8,QINT8,FLOAT32", proc.stdout), proc.stdout
    errors = dict(re.findall(r"output (\w+): shape \[1, 5\], max \|int8 - float32\| = ([0-9.e-]+)", proc.stdout))
    want = ort_outputs(onnx_path, {"x": images[0]})
    assert set(errors) == {"prob", "logits"}
    assert 0 < float(errors["logits"]) <= 0.05 * np.abs(want["logits"]).max()
