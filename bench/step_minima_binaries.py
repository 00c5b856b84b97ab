#!/usr/bin/env python3
"""Two mixq binaries, one model file, interleaved: per-step minima of `mixq bench --profile-json`.

Runs binary A then B (B then A on odd rounds) ROUNDS times on MODEL, keeps
each step's fastest time per binary, prints the steps whose minima moved by
MIN_MS or more and the sums. How a change is measured on a machine whose
speed swings between minutes (build the old commit in a worktree first):

  git worktree add /tmp/old <commit> && (cd /tmp/old && bash scripts/build)
  A=/tmp/old/build/tools/mixq B=build/tools/mixq python3 bench/step_minima_binaries.py MODEL.mixq 4
  A=... B=... T=2 I=20 MIN_MS=0.02 python3 bench/step_minima_binaries.py MODEL.mixq 4

Environment: A, B the binaries; T threads (1); I iterations per run (20);
MIN_MS (0.01); SHAPE=NAME:DIMS for inputs with dynamic dims.
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 2 or "A" not in os.environ or "B" not in os.environ:
        sys.exit(__doc__)
    model = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    binaries = {"A": os.environ["A"], "B": os.environ["B"]}
    threads, iterations = os.environ.get("T", "1"), os.environ.get("I", "20")
    min_ms = float(os.environ.get("MIN_MS", "0.01"))
    shape = ["--shape", os.environ["SHAPE"]] if os.environ.get("SHAPE") else []
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    minima = {"A": {}, "B": {}}
    for r in range(rounds):
        for tag in ("AB" if r % 2 == 0 else "BA"):
            subprocess.run([binaries[tag], "bench", model, "--threads", threads, "--iterations", iterations,
                            "--profile-json", profile] + shape, capture_output=True, check=True)
            for s in json.load(open(profile))["steps"]:
                key = (s["node"], s["op"])
                minima[tag][key] = min(minima[tag].get(key, float("inf")), s["min_ms"])
    a, b = minima["A"], minima["B"]
    for key in sorted(set(a) | set(b), key=lambda k: -abs(a.get(k, 0.0) - b.get(k, 0.0))):
        if abs(b.get(key, 0.0) - a.get(key, 0.0)) >= min_ms:
            print(f"  {key[0][:40]:40s} {a.get(key, 0.0):.3f} -> {b.get(key, 0.0):.3f}")
    sa, sb = sum(a.values()), sum(b.values())
    print(f"{os.path.basename(model)}: A {sa:.3f}  B {sb:.3f}  B/A {sb / sa:.3f}")


if __name__ == "__main__":
    main()
