"""Test configuration.

CI runs hypothesis derandomized so a red build is reproducible. OpenMP workers spin only
briefly before sleeping (set before anything imports torch): with the default spinning,
this process's idle workers starve the subprocesses some tests start (notebook kernels,
killed-and-resumed training runs) on a 2-core machine.
"""

import os

os.environ.setdefault("GOMP_SPINCOUNT", "100000")

from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
