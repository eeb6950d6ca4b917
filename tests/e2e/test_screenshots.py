"""The main pages in real Chromium on the demo data: none is wider than a 320 px phone, none
breaks the site's Content-Security-Policy, and each is photographed at desktop and phone size.

`make screenshots` sets SCREENSHOTS_DIR=docs/screenshots and so refreshes the README's pictures
(cropped to the viewport and reduced to a 256-colour palette to keep them small). In the normal
suite the pictures go to a temporary directory and only the checks count.
"""

import io
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.models import Count

from responses.models import Membership, Ticket, TicketStatus
from reviews.models import Provider, Review

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 640}

LOGINS = {
    "customer": ("customer@example.com", "demo-customer-pass"),
    "owner": ("owner@example.com", "demo-owner-pass"),
    "moderator": ("moderator@example.com", "demo-moderator-pass"),
}


@dataclass(frozen=True)
class Page:
    name: str  # the picture's file name, without the size and extension
    who: str | None  # whose session (LOGINS), or None for a visitor
    path: Callable[[dict], str]
    picture: bool = False  # photographed for the README (every page gets the 320 px check)
    h1: str = ""  # the page's heading, to be sure the right page was photographed


PAGES = [
    Page("home", None, lambda d: "/", True, "Find, rate and review local services"),
    Page("directory", None, lambda d: "/providers/?q=dental", True),
    Page("provider", None, lambda d: f"/providers/{d['provider'].slug}/", True),
    Page("review-form", "customer", lambda d: f"/providers/{d['to_review'].slug}/review/", True),
    Page("ticket", "owner", lambda d: f"/tickets/{d['ticket'].pk}/", True),
    Page("business-inbox", "owner", lambda d: f"/business/{d['provider'].slug}/", True),
    Page("moderation-desk", "moderator", lambda d: "/admin/", True, "Moderation desk"),
    # The rest of the main pages: checked at 320 px, not photographed.
    Page("no-results", None, lambda d: "/providers/?q=zzqqxx"),
    Page("no-reviews", None, lambda d: f"/providers/{d['empty'].slug}/"),
    Page("review", None, lambda d: f"/reviews/{d['review'].pk}/"),
    Page("policy", None, lambda d: "/reviews-policy/"),
    Page("stats", None, lambda d: "/stats/"),
    Page("privacy", None, lambda d: "/privacy/"),
    Page("sign-in", None, lambda d: "/accounts/login/"),
    Page("sign-up", None, lambda d: "/accounts/signup/"),
    Page("not-found", None, lambda d: "/no-such-page/", h1="Page not found"),
    Page("my-reviews", "customer", lambda d: "/accounts/reviews/"),
    Page("my-complaints", "customer", lambda d: "/accounts/tickets/"),
    Page("my-data", "customer", lambda d: "/accounts/data/"),
    Page("dashboard", "owner", lambda d: "/business/"),
    Page("complaints", "owner", lambda d: f"/business/{d['provider'].slug}/tickets/"),
    Page("analytics", "owner", lambda d: f"/business/{d['provider'].slug}/analytics/"),
    Page(
        "reply",
        "owner",
        lambda d: f"/business/{d['provider'].slug}/reviews/{d['review'].pk}/reply/",
    ),
    Page("templates", "owner", lambda d: f"/business/{d['provider'].slug}/templates/"),
    Page("invitations", "owner", lambda d: f"/business/{d['provider'].slug}/invitations/"),
    Page("team", "owner", lambda d: f"/business/{d['provider'].slug}/team/"),
]


def _demo_data() -> dict:
    """Seed the demo (the same data as `make demo`) and pick the pages' subjects from it."""
    call_command("seed_demo", "--quiet-logins", stdout=io.StringIO(), stderr=io.StringIO())
    provider = Membership.objects.filter(user__email=LOGINS["owner"][0]).first().provider
    reviewed = Review.objects.filter(author__email=LOGINS["customer"][0]).values("provider")
    to_review = (
        provider
        if not reviewed.filter(provider=provider).exists()
        else (Provider.objects.exclude(pk__in=reviewed).filter(review_count__gt=0).first())
    )
    open_tickets = Ticket.objects.filter(provider=provider).exclude(status=TicketStatus.CLOSED)
    return {
        "provider": provider,
        "to_review": to_review,
        "ticket": open_tickets.annotate(n=Count("events")).order_by("-n", "pk").first(),
        "review": Review.objects.filter(provider=provider, status="published").first(),
        "empty": Provider.objects.filter(review_count=0).first(),
    }


def _png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as f:
        header = f.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def _shrink(path: Path) -> None:
    """A 256-colour palette (what pngquant does): a third of the size, text still crisp."""
    from PIL import Image  # dev dependency, needed only to refresh docs/screenshots

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


@pytest.fixture
def screenshots_dir(tmp_path) -> tuple[Path, bool]:
    """docs/screenshots/ when `make screenshots` asks for it, else a throw-away directory."""
    wanted = os.environ.get("SCREENSHOTS_DIR")
    if not wanted:
        return tmp_path, False
    directory = Path(wanted)
    directory.mkdir(parents=True, exist_ok=True)
    return directory, True


def test_main_pages_fit_a_phone_keep_the_csp_and_are_photographed(
    live_server, browser, browser_context_args, settings, screenshots_dir
):
    settings.MFA_REQUIRED = False  # the demo's owner and moderator have no second factor
    data = _demo_data()
    out, for_docs = screenshots_dir
    # No bypass_csp here (unlike the axe tests): the real policy applies, and any inline style
    # or script it blocks is reported on the console.
    context_args = {k: v for k, v in browser_context_args.items() if k != "bypass_csp"}
    problems: list[str] = []
    sessions: dict = {}

    def page_for(who, viewport):
        key = (who, viewport["width"])
        if key not in sessions:
            context = browser.new_context(**context_args, viewport=viewport)
            page = context.new_page()
            page.on(
                "console",
                lambda msg, key=key: (
                    problems.append(f"{key}: console: {msg.text}")
                    if "Content Security Policy" in msg.text or "Refused to" in msg.text
                    else None
                ),
            )
            if who:
                email, password = LOGINS[who]
                page.goto(live_server.url + "/accounts/login/")
                page.get_by_label("Email").fill(email)
                page.get_by_label("Password").fill(password)
                page.get_by_role("button", name="Sign In").click()
                page.wait_for_url(lambda url: "/accounts/login/" not in url)
            sessions[key] = page
        return sessions[key]

    for spec in PAGES:
        url = live_server.url + spec.path(data)
        sizes = [("desktop", DESKTOP), ("mobile", MOBILE)] if spec.picture else []
        for label, viewport in [*sizes, ("narrow", NARROW)]:
            page = page_for(spec.who, viewport)
            response = page.goto(url)
            expected = 404 if spec.name == "not-found" else 200
            if response.status != expected:
                problems.append(f"{spec.name}: status {response.status} at {page.url}")
                continue
            if spec.h1:
                heading = page.locator("h1").first.inner_text().strip()
                if heading != spec.h1:
                    problems.append(f"{spec.name}: heading {heading!r}, not {spec.h1!r}")
            if label == "narrow":
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > NARROW["width"]:
                    problems.append(f"{spec.name}: {width} px wide at 320 px ({spec.path(data)})")
                continue
            page.evaluate("document.activeElement && document.activeElement.blur()")
            path = out / f"{spec.name}-{label}.png"
            page.screenshot(path=path, animations="disabled")
            if for_docs:
                _shrink(path)
            assert _png_size(path) == (viewport["width"], viewport["height"]), path

    for page in sessions.values():
        page.context.close()
    assert not problems, "\n".join(problems)
