"""Settings for `make bench` and `make lighthouse`: the production settings, with the collected
static files in a directory of the harness's own (var/bench/static, var/lighthouse/static), so
measuring never touches the project's staticfiles/ and needs no change to portal/settings.py."""

import os

from portal.settings import *  # noqa: F403
from portal.settings import BASE_DIR

STATIC_ROOT = os.environ.get("BENCH_STATIC_ROOT", str(BASE_DIR / "var" / "bench" / "static"))
