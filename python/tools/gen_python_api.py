#!/usr/bin/env python3
"""Generates the Python package's reference from the installed package itself:

- docs/python_api.md: every public name with its signature and docstring (inspect);
- python/mixq/_mixq.pyi: type stubs of the extension module (pybind11-stubgen).

    .venv/bin/python python/tools/gen_python_api.py            # rewrite both
    .venv/bin/python python/tools/gen_python_api.py --check    # exit 1 if either is stale

tests/python/test_py_docs.py runs the check, as docs/operators.md is checked.
"""
import argparse
import enum
import inspect
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "python_api.md"
STUB = ROOT / "python" / "mixq" / "_mixq.pyi"

HEADER = """# Python API reference

Generated from the docstrings by `python/tools/gen_python_api.py` (do not edit;
CI checks it is current). The package mirrors the C++ API (`include/mixq/`) in
snake_case; see the README's Python section for a quick start. Every call that
can fail raises `mixq.MixqError` (a `RuntimeError` with `code`, `message` and
`status`), whose message names the tensor, node, key or byte offset at fault.
"""


def first_paragraph_and_rest(doc):
    return inspect.cleandoc(doc or "").strip()


def pybind_signatures(obj):
    """pybind11 puts 'name(args) -> result' lines first in __doc__; overloads are numbered."""
    lines = (obj.__doc__ or "").strip().splitlines()
    signatures, text = [], []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(obj.__name__ + "(") or (stripped[:1].isdigit() and f". {obj.__name__}(" in stripped):
            signatures.append(stripped.split(". ", 1)[1] if stripped[:1].isdigit() else stripped)
        elif stripped != "Overloaded function.":
            text.append(line)
    return signatures, inspect.cleandoc("\n".join(text)).strip()


def describe_callable(name, obj, out, level="###"):
    if inspect.isbuiltin(obj) or type(obj).__name__ == "instancemethod" or not hasattr(obj, "__code__"):
        signatures, text = pybind_signatures(obj)
        signatures = [s.replace("self: mixq._mixq.", "self: ").replace("mixq._mixq.", "") for s in signatures]
    else:
        signatures, text = [f"{name}{inspect.signature(obj)}"], first_paragraph_and_rest(obj.__doc__)
    out.append(f"{level} `{name}`\n")
    for signature in signatures or [name + "(...)"]:
        out.append(f"    {signature}")
    out.append("")
    if text:
        out.append(text + "\n")


def describe_class(name, cls, out):
    out.append(f"## `{name}`\n")
    members = getattr(cls, "__members__", None)
    doc = inspect.cleandoc(cls.__doc__ or "")
    if members is not None and not issubclass(cls, enum.Enum):  # a pybind11 enum
        doc = doc.split("Members:")[0].strip()
        if doc:
            out.append(doc + "\n")
        out.append("Values: " + ", ".join(f"`{m}`" for m in members) + "\n")
        return
    if doc:
        out.append(doc + "\n")
    bases = [b.__name__ for b in cls.__bases__ if b.__module__.startswith("mixq")]
    if bases:
        out.append("Derives from " + ", ".join(f"`{b}`" for b in bases) + ".\n")
    for attr, value in cls.__dict__.items():
        if attr.startswith("_") and attr != "__init__":
            continue
        if isinstance(value, property):
            out.append(f"- property `{attr}`" + (f": {inspect.cleandoc(value.__doc__)}" if value.__doc__ else "") + "\n")
            continue
        target = value.__func__ if isinstance(value, (staticmethod, classmethod)) else value
        if callable(target):
            describe_callable(f"{name}.{attr}", target, out)


def generate_doc():
    import mixq

    out = [HEADER]
    python_side = [n for n in sorted(dir(mixq)) if not n.startswith("_")
                   and getattr(getattr(mixq, n), "__module__", "").startswith("mixq.")
                   and not getattr(getattr(mixq, n), "__module__", "").startswith("mixq._mixq")]
    out.append("# Conveniences (pure Python)\n")
    for name in python_side:
        obj = getattr(mixq, name)
        if inspect.isclass(obj):
            describe_class(name, obj, out)
        elif inspect.isfunction(obj):
            describe_callable(name, obj, out, level="##")
    out.append("# The C++ API\n")
    aliases = {"Network", "BuilderConfig", "Builder", "Calibrator", "Model", "Parser"}
    native = [n for n in mixq._mixq.__dict__ if not n.startswith("_") and n not in aliases]
    for name in native:
        obj = getattr(mixq._mixq, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            out.append(f"## `{name}`\n\n{inspect.cleandoc(obj.__doc__ or '')}\n")
        elif inspect.isclass(obj):
            describe_class(name, obj, out)
    out.append("## Functions\n")
    for name in native:
        obj = getattr(mixq._mixq, name)
        if callable(obj) and not inspect.isclass(obj):
            describe_callable(name, obj, out)
    out.append("## Aliases\n")
    out.append(", ".join(f"`{a} = {getattr(mixq, a).__name__}`" for a in sorted(aliases)) + "\n")
    return "\n".join(out).rstrip() + "\n"


def generate_stub():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "mixq._mixq", "-o", tmp], check=True,
                       capture_output=True)
        return (pathlib.Path(tmp) / "mixq" / "_mixq.pyi").read_text()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 if stale")
    args = parser.parse_args()
    stale = []
    for path, text in ((DOC, generate_doc()), (STUB, generate_stub())):
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
    if stale:
        print("stale (run python/tools/gen_python_api.py): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
