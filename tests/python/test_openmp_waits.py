"""How `import mixq` sets libgomp's waits (src/util/omp_wait_policy.h): a
spin then sleep, the spin short where another process was runnable at
import, unless the user chose either variable."""
import os
import subprocess
import sys
import time

PRINT_WAITS = ("import os, mixq; "
               "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")


def waits_after_import(**preset):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    out = subprocess.run([sys.executable, "-c", PRINT_WAITS], env=env, check=True, capture_output=True, text=True)
    return out.stdout.split()


def test_unset_gets_passive_with_a_spin():
    policy, spin = waits_after_import()
    assert policy == "PASSIVE"
    assert spin in ("1000", "10000")


def test_a_busy_machine_gets_the_short_spin():
    # A busy loop is runnable in every reading of /proc/loadavg.
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert waits_after_import() == ["PASSIVE", "1000"]
    finally:
        busy.kill()
        busy.wait()


def test_spin_chosen_from_loadavg_readings():
    import mixq

    idle = "0.10 0.20 0.30 1/86 1891\n"
    assert mixq._spin_count_for_start([idle] * 4) == "10000"
    # One reading with another runnable entity of four: still idle.
    assert mixq._spin_count_for_start([idle, "0.10 0.20 0.30 2/86 1891", idle, idle]) == "10000"
    assert mixq._spin_count_for_start(["0.10 0.20 0.30 3/88 1896"] * 4) == "1000"
    assert mixq._spin_count_for_start([]) == "1000"
    assert mixq._spin_count_for_start(["garbage"]) == "1000"
    assert mixq._spin_count_for_start(["0.1 0.2 0.3 x/9 1"]) == "1000"


def test_a_users_policy_is_kept_and_no_spin_is_added():
    assert waits_after_import(OMP_WAIT_POLICY="ACTIVE") == ["ACTIVE", "None"]


def test_a_users_spin_count_is_kept_and_no_policy_is_added():
    assert waits_after_import(GOMP_SPINCOUNT="0") == ["None", "0"]
