"""Fetches the PP-OCR ONNX models shipped inside the rapidocr-onnxruntime wheel.

`pip download --no-deps rapidocr-onnxruntime==VERSION` into a temporary folder,
then the three .onnx files are copied out of the wheel (a zip) into OUT_DIR.
The wheel and every model are checked against pinned SHA-256 digests, so a
changed upload is an error rather than a silent change of test data.
Idempotent: models already present with the right digest are kept.

Usage: python fetch_ppocr.py OUT_DIR
"""
import hashlib
import pathlib
import subprocess
import sys
import tempfile
import zipfile

VERSION = "1.4.4"
WHEEL_SHA256 = "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf"
MODELS = {
    "ch_PP-OCRv4_det_infer.onnx": "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9",
    "ch_PP-OCRv4_rec_infer.onnx": "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b",
    "ch_ppocr_mobile_v2.0_cls_infer.onnx": "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c",
}


def sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: fetch_ppocr.py OUT_DIR", file=sys.stderr)
        return 2
    out_dir = pathlib.Path(sys.argv[1])
    missing = [n for n, d in MODELS.items() if not (out_dir / n).is_file() or sha256(out_dir / n) != d]
    if not missing:
        print(f"[fetch_models] PP-OCR models present in {out_dir}")
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"[fetch_models] pip download rapidocr-onnxruntime=={VERSION}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                        f"rapidocr-onnxruntime=={VERSION}"], check=True)
        wheels = list(pathlib.Path(tmp).glob("*.whl"))
        if len(wheels) != 1:
            print(f"[fetch_models] error: expected one wheel, pip downloaded {wheels}", file=sys.stderr)
            return 1
        if sha256(wheels[0]) != WHEEL_SHA256:
            print(f"[fetch_models] error: {wheels[0].name} has an unexpected SHA-256", file=sys.stderr)
            return 1
        with zipfile.ZipFile(wheels[0]) as wheel:
            for name in missing:
                data = wheel.read(f"rapidocr_onnxruntime/models/{name}")
                if hashlib.sha256(data).hexdigest() != MODELS[name]:
                    print(f"[fetch_models] error: {name} in the wheel has an unexpected SHA-256", file=sys.stderr)
                    return 1
                tmp_path = out_dir / (name + ".tmp")
                tmp_path.write_bytes(data)
                tmp_path.replace(out_dir / name)  # never leave a half-written model behind
                print(f"[fetch_models] wrote {out_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
