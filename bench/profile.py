"""Profile one page in process with pyinstrument: where a request's time goes.

`make profile PROFILE_PATH=/providers/<slug>/` (or run with the environment bench/run.py
uses) requests the path a few times to warm up, then profiles `PROFILE_REQUESTS` more through
the WSGI handler (the whole middleware stack, no network) and prints pyinstrument's call tree.
The benchmark's settings apply (bench/settings.py, DEBUG off, Redis cache); set
PROVIDER_PAGE_CACHE=False to profile a rendered page rather than a cache hit.
"""

import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

from django.core.wsgi import get_wsgi_application
from pyinstrument import Profiler

PATH = os.environ.get("PROFILE_PATH", "/health/")
REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "200"))


def main() -> int:
    app = get_wsgi_application()
    path, _, query = PATH.partition("?")

    def call() -> str:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8765",
            "HTTP_HOST": "127.0.0.1",
            "REMOTE_ADDR": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
        }
        status = []
        b"".join(app(environ, lambda s, h, e=None: status.append(s)))
        return status[0]

    for _ in range(20):
        status = call()
    print(f"{PATH}: {status}; profiling {REQUESTS} requests")
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(REQUESTS):
        call()
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
