#!/usr/bin/env python3
"""How each step of one model file scales from 1 thread to 2: per-step minima.

Runs `mixq bench --profile-json` at 1 and at 2 threads, alternately, ROUNDS
times, keeps each step's fastest time per thread count, and prints the steps
that lose the most against a perfect split (2-thread time minus half the
1-thread time), with their speedups, and the sums. Steps that do not split
(one job, one output channel) or that split badly show at the top; a row of
steps that all lose at once is the machine, not the kernels (repeat).

  python3 bench/step_scaling.py build/bench_models/ppocr_det_i16.mixq 5
  TOP=40 I=30 python3 bench/step_scaling.py MODEL.mixq 3

Environment: MIXQ the binary (build/tools/mixq), I iterations per run (20),
TOP rows printed (25), MIN_MS the smallest 1-thread time listed (0.02).
"""
import json
import os
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    model = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mixq = os.environ.get("MIXQ", "build/tools/mixq")
    iterations, top = os.environ.get("I", "20"), int(os.environ.get("TOP", "25"))
    min_ms = float(os.environ.get("MIN_MS", "0.02"))
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    minima = {1: {}, 2: {}}
    for r in range(rounds):
        for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
            subprocess.run([mixq, "bench", model, "--threads", str(threads), "--iterations", iterations,
                            "--profile-json", profile], capture_output=True, check=True)
            for s in json.load(open(profile))["steps"]:
                key = (s["node"], s["op"], s.get("kernel", ""))
                minima[threads][key] = min(minima[threads].get(key, float("inf")), s["min_ms"])
    one, two = minima[1], minima[2]
    rows = sorted(((two.get(k, 0.0) - one[k] / 2, k) for k in one if one[k] >= min_ms), reverse=True)
    print(f"{'step':32s} {'op':15s} {'kernel':24s} {'1T ms':>7s} {'2T ms':>7s} {'speedup':>7s} {'lost ms':>7s}")
    for lost, key in rows[:top]:
        a, b = one[key], two.get(key, 0.0)
        print(f"{key[0][:32]:32s} {key[1][:15]:15s} {key[2][:24]:24s} {a:7.3f} {b:7.3f} "
              f"{(a / b if b else 0.0):7.2f} {lost:7.3f}")
    s1, s2 = sum(one.values()), sum(two.values())
    print(f"{os.path.basename(model)}: sums 1T {s1:.3f}  2T {s2:.3f}  speedup {s1 / s2:.2f}")


if __name__ == "__main__":
    main()
