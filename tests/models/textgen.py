"""Deterministic inputs for the real-model accuracy suite, drawn with TrueType fonts.

Everything is made here from a seed: the line texts (Latin words, numbers,
codes, dates), the text-line images for PP-OCRv4 rec, pages of lines for
PP-OCRv4 det, lines upright or turned 180 degrees for the PP-OCR direction
classifier, and synthetic scenes for the ImageNet-shaped MobileNetV2. The
fonts are the six of Debian's ``fonts-dejavu-core`` (scripts/setup installs
it). No file is downloaded.

Preprocessing follows PaddleOCR / RapidOCR:

- rec: the line image is resized to height 48 keeping its aspect ratio
  (width at most 320), scaled to ``(x / 255 - 0.5) / 0.5`` and padded on the
  right with zeros to 1x3x48x320;
- det: ``(x / 255 - mean) / std`` with ImageNet's mean / std, 320x320;
- cls (PP-OCR direction classifier): as rec, 1x3x48x192;
- MobileNetV2: the same ImageNet normalisation, 224x224.
"""
from __future__ import annotations

import pathlib
from typing import List, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = pathlib.Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
              "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"]
IMAGENET = (np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32))
REC_H, REC_W = 48, 320
CLS_W = 192  # the PP-OCR direction classifier's input width

WORDS = """
able about above account acid across action active actor adapt added adult after again agent agree ahead
airport album alert alpha amber anchor angle animal answer apple april archive area argue arrow artist
asset atlas audio august author autumn avenue award baker balance bamboo banner barrel basket battery beach
before berry better beyond bicycle border bottle branch bread bridge bright broken bronze budget builder
button cabin cable camera campus canal candle canyon carbon cargo carpet castle center chair channel
chapter charge check cherry circle citizen civil classic client climate clock cloud coast coffee collect
colour comfort common copper corner cotton country course cousin cover credit crystal culture current
custom daily dance danger debate decade delta design detail device dinner direct doctor domain double
dragon drawer dream driver during eagle early earth east editor effect eight either elder energy engine
entry equal escape estate event exact export fabric factor family farmer father feature field figure
filter final finger forest format forward frame fresh friday friend garden garlic gather gentle giant
ginger global golden govern grain graph green ground growth guitar harbor harvest health heart heavy
helmet hidden highway history holiday honest horizon hotel house hunter island ivory jacket jungle
justice kernel kettle kitchen ladder lake laptop large launch leader lemon letter level library light
limit linear liquid little local lunar machine magnet main manual marble market master matrix meadow
medium member memory metal middle minute mirror mobile modern moment monday motor mountain museum
native nature needle network night noble normal north number object ocean office olive open orange
orbit order output oxygen packet paddle palace panel paper parent party pepper permit phone pilot
planet plastic pocket policy portal powder prime print profit public purple puzzle quarter queen
quick quiet rabbit radio random rapid reader record region remote repair report result ribbon river
robot rocket rubber saddle salmon sample saturday scale school screen season second secret sensor
server shadow signal silver simple single sister socket solar source spring square stable station
steel stone street string studio summer sunday supply system table tablet target teacher tensor
thunder ticket timber token tomato total tower traffic travel tunnel twelve unit update upper useful
valley vector velvet vendor violet vision volume wallet water weekly window winter wonder yellow zebra
""".split()
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def font_paths() -> List[pathlib.Path]:
    """The six DejaVu fonts; a clear error when fonts-dejavu-core is not installed."""
    paths = [FONT_DIR / f for f in FONT_FILES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"missing TrueType fonts {', '.join(missing)}: install Debian's fonts-dejavu-core "
                                "(scripts/setup does)")
    return paths


def _word(rng: np.random.Generator) -> str:
    w = WORDS[rng.integers(len(WORDS))]
    case = rng.integers(3)
    return w.capitalize() if case == 0 else w.upper() if case == 1 else w


def line_text(rng: np.random.Generator) -> str:
    """One short line: words, numbers, codes, dates, prices (at most ~18 characters)."""
    kind = rng.integers(8)
    if kind == 0:
        return f"{_word(rng)} {_word(rng)}"
    if kind == 1:
        return f"{_word(rng)} {rng.integers(1, 10000)}"
    if kind == 2:
        return f"{rng.integers(2000, 2030)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
    if kind == 3:
        return f"{rng.integers(0, 1000)}.{rng.integers(0, 100):02d}"
    if kind == 4:
        letters = "".join(chr(ord("A") + int(c)) for c in rng.integers(0, 26, 2))
        return f"{letters}{rng.integers(100, 100000)}"
    if kind == 5:
        return f"{rng.integers(1, 29)} {MONTHS[rng.integers(12)]} {rng.integers(1990, 2030)}"
    if kind == 6:
        return f"{rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}"
    return _word(rng)


def texts(count: int, seed: int) -> List[str]:
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < count:
        t = line_text(rng)
        if len(t) <= 18:
            out.append(t)
    return out


def _draw_line(text: str, rng: np.random.Generator, fonts: List[pathlib.Path]) -> Image.Image:
    """The text drawn tight (a few pixels of margin) on a light, noisy, unevenly lit background."""
    font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), int(rng.integers(26, 42)))
    left, top, right, bottom = font.getbbox(text)
    mx, my = int(rng.integers(3, 10)), int(rng.integers(3, 9))
    w, h = right - left + 2 * mx, bottom - top + 2 * my
    paper = rng.uniform(185, 250)
    ink = tuple(int(v) for v in rng.uniform(0, 80, 3))
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    light = paper - rng.uniform(0, 30) * (x / w) - rng.uniform(0, 15) * (y / h)
    tint = rng.uniform(0.9, 1.0, 3).astype(np.float32)
    bg = np.clip(light[:, :, None] * tint + rng.normal(0, 3, (h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(bg, "RGB")
    ImageDraw.Draw(img).text((mx - left, my - top), text, font=font, fill=ink)
    if rng.random() < 0.5:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    return img


def rec_preprocess(img: Image.Image, width: int = REC_W) -> np.ndarray:
    """PaddleOCR's resize_norm_img for a 3x48xwidth input: height 48, aspect kept, right-padded with 0."""
    w = min(width, max(1, int(np.ceil(REC_H * img.width / img.height))))
    resized = np.asarray(img.resize((w, REC_H), Image.BILINEAR), np.float32) / 255
    out = np.zeros((3, REC_H, width), np.float32)
    out[:, :, :w] = ((resized - 0.5) / 0.5).transpose(2, 0, 1)
    return out[None]


def rec_lines(count: int, seed: int) -> Tuple[np.ndarray, List[str]]:
    """``count`` rendered lines, (count, 1, 3, 48, 320) float32, and their texts."""
    fonts = font_paths()
    labels = texts(count, seed)
    rng = np.random.default_rng(seed + 1_000_003)
    return np.stack([rec_preprocess(_draw_line(t, rng, fonts)) for t in labels]), labels


def cls_lines(count: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
    """Lines for the PP-OCR direction classifier (1x3x48x192), every other one turned 180 degrees;
    returns (count, 1, 3, 48, 192) float32 and the true class (0: upright, 1: 180 degrees)."""
    fonts = font_paths()
    rng = np.random.default_rng(seed)
    xs, classes = [], []
    for i in range(count):
        img = _draw_line(line_text(rng), rng, fonts)
        turned = i % 2
        xs.append(rec_preprocess(img.rotate(180) if turned else img, CLS_W))
        classes.append(turned)
    return np.stack(xs), np.array(classes)


def imagenet_norm(img: Image.Image) -> np.ndarray:
    x = (np.asarray(img, np.float32) / 255 - IMAGENET[0]) / IMAGENET[1]
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def det_page(rng: np.random.Generator, fonts: List[pathlib.Path], size: int = 320) -> Image.Image:
    """3-5 lines pasted on a page at random places (each below the previous one)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    page = rng.uniform(200, 245) - rng.uniform(0, 30) * (x / size) - rng.uniform(0, 20) * (y / size)
    bg = np.clip(page[:, :, None] * rng.uniform(0.9, 1.0, 3) + rng.normal(0, 4, (size, size, 3)), 0, 255)
    img = Image.fromarray(bg.astype(np.uint8), "RGB")
    top = int(rng.integers(5, 30))
    for _ in range(int(rng.integers(3, 6))):
        line = _draw_line(line_text(rng), rng, fonts)
        scale = rng.uniform(0.5, 1.0)
        line = line.resize((max(1, int(line.width * scale)), max(1, int(line.height * scale))), Image.BILINEAR)
        if line.width > size - 10:
            line = line.resize((size - 10, max(1, line.height * (size - 10) // line.width)), Image.BILINEAR)
        if top + line.height > size - 5:
            break
        img.paste(line, (int(rng.integers(5, size - line.width - 4)), top))
        top += line.height + int(rng.integers(8, 40))
    return img


def det_pages(count: int, seed: int) -> np.ndarray:
    """(count, 1, 3, 320, 320) float32 pages for PP-OCRv4 det."""
    fonts = font_paths()
    rng = np.random.default_rng(seed)
    return np.stack([imagenet_norm(det_page(rng, fonts)) for _ in range(count)])


def scene(rng: np.random.Generator, fonts: List[pathlib.Path], size: int = 224) -> Image.Image:
    """A synthetic picture: a colour gradient, 4-10 filled shapes, sometimes a word, noise."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    t = (x * rng.uniform(-1, 1) + y * rng.uniform(-1, 1))[:, :, None]
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = Image.fromarray((c0 * (1 - t) + c1 * t).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(4, 11))):
        x0, y0 = rng.integers(-40, size, 2)
        x1, y1 = x0 + rng.integers(20, 160), y0 + rng.integers(20, 160)
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(3)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([tuple(int(v) for v in rng.integers(-20, size + 20, 2)) for _ in range(3)], fill=fill)
    if rng.random() < 0.5:
        font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), int(rng.integers(20, 48)))
        draw.text(tuple(int(v) for v in rng.integers(0, size // 2, 2)), _word(rng), font=font,
                  fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    arr = np.asarray(img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5))), np.float32)
    return Image.fromarray(np.clip(arr + rng.normal(0, 6, arr.shape), 0, 255).astype(np.uint8), "RGB")


def scenes(count: int, seed: int) -> np.ndarray:
    """(count, 1, 3, 224, 224) float32 synthetic pictures for the ImageNet-shaped classifier."""
    fonts = font_paths()
    rng = np.random.default_rng(seed)
    return np.stack([imagenet_norm(scene(rng, fonts)) for _ in range(count)])
