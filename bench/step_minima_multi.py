#!/usr/bin/env python3
"""Several mixq commands on one model file, round robin: per-step minima of `mixq bench --profile-json`.

Each NAME=COMMAND runs `COMMAND bench MODEL --threads T --iterations I
--profile-json ...` once per round (the order reversed on odd rounds); each
step keeps its fastest time per command. Prints the sums of the minima and,
with SHOW=ms, every step whose minima differ by that much. A command may
start with environment assignments, so one binary can be compared with
kernels excluded or options forced:

  T=1 taskset -c 1 python3 bench/step_minima_multi.py build/bench_models/ppocr_rec_bf16.mixq 4 \\
      onednn="MIXQ_EXCLUDE_KERNELS=amx-bf16-pw build/tools/mixq" amx=build/tools/mixq
  SHOW=0.01 T=2 python3 bench/step_minima_multi.py MODEL.mixq 5 a=/tmp/old/mixq b=build/tools/mixq

Environment: T threads (1), I iterations per run (20), SHOW (unset: sums only).
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 4 or any("=" not in a for a in sys.argv[3:]):
        sys.exit(__doc__)
    model, rounds = sys.argv[1], int(sys.argv[2])
    commands = []
    for arg in sys.argv[3:]:
        name, command = arg.split("=", 1)
        words = shlex.split(command)
        if "=" in words[0]:  # leading VAR=value assignments
            words = ["env"] + words
        commands.append((name, words))
    threads, iterations = os.environ.get("T", "1"), os.environ.get("I", "20")
    profile = os.path.join(tempfile.mkdtemp(), "profile.json")
    minima = {name: {} for name, _ in commands}
    for r in range(rounds):
        for name, words in commands if r % 2 == 0 else commands[::-1]:
            subprocess.run(words + ["bench", model, "--threads", threads, "--iterations", iterations,
                                    "--profile-json", profile], capture_output=True, check=True)
            for s in json.load(open(profile))["steps"]:
                minima[name][s["node"]] = min(minima[name].get(s["node"], float("inf")), s["min_ms"])
    names = [name for name, _ in commands]
    print("sums of step minima: " + "  ".join(f"{n} {sum(minima[n].values()):.3f}" for n in names))
    show = os.environ.get("SHOW")
    if show:
        for node in minima[names[0]]:
            values = [minima[n].get(node, 0.0) for n in names]
            if max(values) - min(values) >= float(show):
                print(f"{node[:32]:32s} " + " ".join(f"{v:7.3f}" for v in values))


if __name__ == "__main__":
    main()
