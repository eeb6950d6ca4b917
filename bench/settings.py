"""Settings for `make bench`: the production settings, with the collected static files in a
directory of the benchmark's own (var/bench/static), so benchmarking never touches the
project's staticfiles/ and needs no change to portal/settings.py."""

import os

from portal.settings import *  # noqa: F403
from portal.settings import BASE_DIR

STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", str(BASE_DIR / "var" / "bench" / "static"))
