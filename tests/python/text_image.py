"""Images of printed text drawn with NumPy alone, as real-looking OCR inputs.

A hand-drawn 5x7 bitmap font (capitals, a few digits) is scaled up, slightly
blurred (anti-aliasing) and printed dark on a light, noisy, unevenly lit page.
"""
import numpy as np

_GLYPHS = {
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "#####"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "##.##", "#...#"),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    " ": (".....",) * 7,
}


def text_mask(text: str, scale: int) -> np.ndarray:
    """Ink coverage in [0, 1] of `text` at `scale` pixels per font dot (7*scale high)."""
    columns = []
    for ch in text.upper():
        glyph = np.array([[c == "#" for c in row] for row in _GLYPHS[ch]], dtype=np.float32)
        columns += [glyph, np.zeros((7, 1), np.float32)]
    mask = np.kron(np.concatenate(columns, axis=1), np.ones((scale, scale), np.float32))
    # 2x2 box blur: soft edges as printed and scanned text has.
    padded = np.pad(mask, 1, mode="edge")
    return (padded[1:, 1:] + padded[:-1, 1:] + padded[1:, :-1] + padded[:-1, :-1])[: mask.shape[0], : mask.shape[1]] / 4


def page(height: int, width: int, lines, seed: int = 0) -> np.ndarray:
    """An HxWx3 uint8 RGB page; `lines` = [(text, scale, top, left), ...]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 235 - 25 * (x / width) - 15 * (y / height)  # uneven lighting
    img = np.repeat(light[:, :, None], 3, axis=2) + rng.normal(0, 4, (height, width, 3))
    img *= np.array([1.0, 0.98, 0.93], np.float32)  # slightly yellow paper
    for text, scale, top, left in lines:
        m = text_mask(text, scale)
        h, w = min(m.shape[0], height - top), min(m.shape[1], width - left)
        ink = np.array([25, 30, 60], np.float32)
        region = img[top : top + h, left : left + w]
        img[top : top + h, left : left + w] = region * (1 - m[:h, :w, None]) + ink * m[:h, :w, None]
    return np.clip(img, 0, 255).astype(np.uint8)


def to_nchw(img: np.ndarray, mean, std) -> np.ndarray:
    """uint8 HWC -> float32 1x3xHxW, (x / 255 - mean) / std per channel."""
    x = (img.astype(np.float32) / 255 - np.array(mean, np.float32)) / np.array(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])
