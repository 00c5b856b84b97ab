"""Running the `mixq` command-line tool from tests."""
import pathlib
import subprocess


def mixq_path(build_dir: pathlib.Path) -> pathlib.Path:
    return build_dir / "tools" / "mixq"


def run_mixq(build_dir: pathlib.Path, *args, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    """Runs `mixq ARGS...`; with check, a non-zero exit fails the test showing stderr."""
    proc = subprocess.run([str(mixq_path(build_dir)), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"mixq {' '.join(map(str, args))} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def file_name_for(tensor_name: str) -> str:
    """The .npy file name `mixq run` writes for an output (same rule as tools/mixq/tensors.cc)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in tensor_name)
    return ("_" + safe if safe in ("", ".", "..") else safe) + ".npy"
