"""How `import mixq` sets libgomp's waits (src/util/omp_wait_policy.h): a
short spin then sleep, unless the user chose either variable."""
import os
import subprocess
import sys

PRINT_WAITS = ("import os, mixq; "
               "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))")


def waits_after_import(**preset):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(preset)
    out = subprocess.run([sys.executable, "-c", PRINT_WAITS], env=env, check=True, capture_output=True, text=True)
    return out.stdout.split()


def test_unset_gets_passive_with_a_short_spin():
    assert waits_after_import() == ["PASSIVE", "1000"]


def test_a_users_policy_is_kept_and_no_spin_is_added():
    assert waits_after_import(OMP_WAIT_POLICY="ACTIVE") == ["ACTIVE", "None"]


def test_a_users_spin_count_is_kept_and_no_policy_is_added():
    assert waits_after_import(GOMP_SPINCOUNT="0") == ["None", "0"]
