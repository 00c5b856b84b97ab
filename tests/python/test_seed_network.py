"""The seed's network in force_float32 against an independent NumPy reference.

mixq_seed_float32 runs conv (OHWI filter, no padding, stride 1) + 2x2/2 max
pooling on NHWC inputs of two different sizes and writes everything as .npy;
here NumPy recomputes the outputs from the same inputs and weights.
"""
import subprocess

import numpy as np


def conv2d_nhwc_valid(x: np.ndarray, w_ohwi: np.ndarray, bias: np.ndarray) -> np.ndarray:
    n, h, wd, c = x.shape
    o, kh, kw, i = w_ohwi.shape
    assert c == i
    out = np.zeros((n, h - kh + 1, wd - kw + 1, o), dtype=np.float64)
    for dy in range(kh):
        for dx in range(kw):
            patch = x[:, dy : dy + out.shape[1], dx : dx + out.shape[2], :].astype(np.float64)
            out += np.einsum("nhwc,oc->nhwo", patch, w_ohwi[:, dy, dx, :].astype(np.float64))
    return out + bias


def max_pool_2x2(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, : 2 * h2, : 2 * w2, :].reshape(n, h2, 2, w2, 2, c).max(axis=(2, 4))


def test_seed_network_float32_matches_numpy(build_dir, tmp_path):
    subprocess.run([str(build_dir / "examples" / "mixq_seed_float32"), str(tmp_path)], check=True)
    w = np.load(tmp_path / "filter.npy")
    b = np.load(tmp_path / "bias.npy")
    shapes = []
    for k in range(2):
        x = np.load(tmp_path / f"input_{k}.npy")
        got = np.load(tmp_path / f"output_{k}.npy")
        want = max_pool_2x2(conv2d_nhwc_valid(x, w, b))
        shapes.append(x.shape)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert shapes[0] != shapes[1], "the two runs must use different input sizes"
