"""CPU time to render the provider page template with 20 reviews, with the template engine
directly (no request handling, no database while timing): the budget is 3 ms (issue #10).

The context is built once by the view's own `provider_page_context` from the benchmark
database's busiest provider (20 reviews, most with a reply and some with a complaint outcome),
for an anonymous visitor and for a signed-in one (who gets vote buttons with CSRF tokens);
then the template is rendered N times and the CPU time per render is printed (median and
95th percentile of `time.process_time_ns`). Run by bench/run.py; alone:
`DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=… .venv/bin/python bench/render.py`.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.contrib.sessions.backends.base import SessionBase  # noqa: E402
from django.template.loader import get_template  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.utils.csp import LazyNonce  # noqa: E402

from accounts.models import User  # noqa: E402
from reviews.models import Provider  # noqa: E402
from reviews.views import provider_page_context  # noqa: E402

N = int(os.environ.get("BENCH_RENDER_CALLS", "300"))
BUDGET_MS = 3.0


def request_for(user):
    request = RequestFactory().get("/", HTTP_HOST="127.0.0.1")
    request.user = user
    request.session = SessionBase()
    request._csp_nonce = LazyNonce()
    return request


def measure(label: str, user, provider) -> float:
    request = request_for(user)
    request.path = request.path_info = provider.get_absolute_url()
    context = provider_page_context(request, provider, "bench")
    template = get_template("reviews/provider_detail.html")
    html = template.render(context, request)  # warm: compiled templates, translations
    times = []
    for _ in range(N):
        started = time.process_time_ns()
        template.render(context, request)
        times.append((time.process_time_ns() - started) / 1e6)
    p50 = statistics.median(times)
    p95 = statistics.quantiles(times, n=20)[-1]
    verdict = "met" if p50 <= BUDGET_MS else "NOT met"
    print(
        f"  {label:<12} {len(context['reviews'])} reviews, {len(html) / 1024:.0f} KiB: "
        f"p50 {p50:.2f} ms, p95 {p95:.2f} ms CPU per render (budget {BUDGET_MS} ms: {verdict})"
    )
    return p50


def main() -> int:
    provider = Provider.objects.active().select_related("category").order_by("-review_count")[0]
    member = User.objects.filter(is_active=True, is_staff=False).order_by("pk").first()
    print(f"Rendering reviews/provider_detail.html for {provider.slug} ({N} renders each):")
    measure("anonymous", AnonymousUser(), provider)
    if member is not None:
        measure("signed in", member, provider)
    return 0


if __name__ == "__main__":
    sys.exit(main())
