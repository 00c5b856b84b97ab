#!/usr/bin/env python3
"""Two model files of one network, interleaved: per-step minima matched by node name.

Runs `mixq bench --profile-json` on model A then model B, ROUNDS times, keeps
each step's fastest time, and prints the steps whose minima differ (by node
name: a float16 plan's extra Cast steps show against nothing) and the sums.
What force_float16 costs over float32, layer by layer, on a machine whose
speed swings between minutes:

  python3 bench/step_minima_pair.py build/bench_models/mobilenetv2_f32.mixq \\
      build/bench_models/mobilenetv2_f16.mixq 4
  T=2 I=10 ALL=1 python3 bench/step_minima_pair.py A.mixq B.mixq 3

Environment: T threads (1), I iterations per run (20), MIXQ the binary
(build/tools/mixq), ALL=1 prints every step, MIN_MS the smallest difference
printed otherwise (0.01).
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def kernels_of(mixq, model):
    plan = subprocess.run([mixq, "inspect", model, "--plan"], capture_output=True, text=True, check=True).stdout
    kernels = {}
    for line in plan.splitlines():
        m = re.match(r"\s*\d+\s+\S+\s+'([^']+)'\s+\[(\S+)\]\s+(.*)", line)
        if m:
            kernels[m.group(1)] = (m.group(2), m.group(3)[:70])
    return kernels


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    models = sys.argv[1:3]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    mixq = os.environ.get("MIXQ", "build/tools/mixq")
    threads, iterations = os.environ.get("T", "1"), os.environ.get("I", "20")
    min_ms = float(os.environ.get("MIN_MS", "0.01"))
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    minima = [{}, {}]
    ran = [{}, {}]  # the kernel each step ran with at this thread count (the plan can differ from `inspect`'s)
    for _ in range(rounds):
        for i, model in enumerate(models):
            subprocess.run([mixq, "bench", model, "--threads", threads, "--iterations", iterations, "--profile-json",
                            profile], capture_output=True, check=True)
            for s in json.load(open(profile))["steps"]:
                minima[i][s["node"]] = min(minima[i].get(s["node"], float("inf")), s["min_ms"])
                if s.get("kernel"):
                    ran[i][s["node"]] = s["kernel"]
    kernels = [kernels_of(mixq, m) for m in models]
    for i in range(2):  # shapes from `inspect`, kernels from the runs
        for node, kernel in ran[i].items():
            kernels[i][node] = (kernel, kernels[i].get(node, ("", ""))[1])
    names = list(minima[1]) + [n for n in minima[0] if n not in minima[1]]
    for name in names:
        a, b = minima[0].get(name, 0.0), minima[1].get(name, 0.0)
        if os.environ.get("ALL") or abs(b - a) >= min_ms:
            ka = kernels[0].get(name, ("-", ""))[0]
            kb, shapes = kernels[1].get(name, kernels[0].get(name, ("-", "")))
            print(f"{name[:24]:24s} {ka:18s} {a:7.3f} {kb:18s} {b:7.3f} {b - a:+7.3f}  {shapes}")
    sa, sb = sum(minima[0].values()), sum(minima[1].values())
    print(f"sum of step minima  A {sa:.3f}  B {sb:.3f}  B/A {sb / sa:.3f}")


if __name__ == "__main__":
    main()
