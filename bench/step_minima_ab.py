#!/usr/bin/env python3
"""Same binary, two environments, interleaved: per-step minima of `mixq bench --profile-json`.

Each of ROUNDS rounds runs variant A (environment VA) then B (VB, by default
MIXQ_EXCLUDE_KERNELS=onednn-int8: the next kernel in line) on one model file;
each step's fastest time over the rounds is kept, and the sums per operator
type are printed (STEPS=1: every Conv2D step with its kernel and shapes). On a
machine whose speed swings between minutes, per-step minima over interleaved
rounds compare two plans better than whole-run medians.

  python3 bench/step_minima_ab.py build/bench_models/resnet50_qdq.mixq 4
  VA='' VB='MIXQ_EXCLUDE_KERNELS=onednn-int8' T=2 I=20 python3 bench/step_minima_ab.py MODEL.mixq
  SHAPE=image:4x16x16x3 ...   (inputs with dynamic dims: `mixq bench --shape`)
"""
import collections
import json
import os
import re
import subprocess
import sys
import tempfile


def environment(assignments):
    env = dict(os.environ)
    for kv in assignments.split():
        name, value = kv.split("=", 1)
        env[name] = value
    return env


def main():
    model = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mixq = os.environ.get("MIXQ", "build/tools/mixq")
    threads, iterations = os.environ.get("T", "1"), os.environ.get("I", "20")
    variants = {"A": os.environ.get("VA", ""), "B": os.environ.get("VB", "MIXQ_EXCLUDE_KERNELS=onednn-int8")}
    minima = {k: {} for k in variants}
    latency = {k: [] for k in variants}
    ran = {k: {} for k in variants}  # the kernel each step ran with (at T threads; `inspect` plans for the default)
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    shapes = [a for s in os.environ.get("SHAPE", "").split() for a in ("--shape", s)]
    for _ in range(rounds):
        for name, assignments in variants.items():
            out = subprocess.run([mixq, "bench", model, "--threads", threads, "--iterations", iterations,
                                  "--profile-json", profile] + shapes, env=environment(assignments), capture_output=True,
                                 text=True, check=True).stdout
            m = re.search(r"latency ms: min ([\d.]+)\s+median ([\d.]+)", out)
            latency[name].append((float(m.group(1)), float(m.group(2))))
            for s in json.load(open(profile))["steps"]:
                key = (s["step"], s["op"])
                minima[name][key] = min(minima[name].get(key, float("inf")), s["min_ms"])
                if s.get("kernel"):
                    ran[name][s["step"]] = s["kernel"]
    kernels = {}
    for name, assignments in variants.items():
        plan = subprocess.run([mixq, "inspect", model, "--plan"] + shapes, env=environment(assignments), capture_output=True,
                              text=True, check=True).stdout
        kernels[name] = {}
        for line in plan.splitlines():
            m = re.match(r"\s*(\d+)\s+\S+\s+\S+\s+\[(\S+)\]\s+(\S+)\s+(\S+)", line)
            if m:
                step = int(m.group(1))
                kernels[name][step] = (ran[name].get(step, m.group(2)), f"{m.group(3)[:34]} {m.group(4)[:24]}")
    for name in variants:
        print(f"{name} ({variants[name] or 'as is'}): latency (min, median) per round {latency[name]}")
    by_op = collections.defaultdict(lambda: [0.0, 0.0])
    for key, a in minima["A"].items():
        by_op[key[1]][0] += a
        by_op[key[1]][1] += minima["B"].get(key, 0.0)
    for op, (a, b) in sorted(by_op.items(), key=lambda kv: -kv[1][1]):
        print(f"  {op:16s} A {a:8.3f}  B {b:8.3f}")
    print(f"  sum of step minima  A {sum(v[0] for v in by_op.values()):.3f}  B {sum(v[1] for v in by_op.values()):.3f}")
    if os.environ.get("STEPS"):
        for (step, op), a in sorted(minima["A"].items()):
            if op != "Conv2D":
                continue
            ka, dims = kernels["A"].get(step, ("?", ""))
            kb = kernels["B"].get(step, ("?", ""))[0]
            print(f"  {step:3d} {dims:60s} A {ka:18s} {a:.3f}  B {kb:18s} {minima['B'].get((step, op), 0):.3f}")


if __name__ == "__main__":
    main()
