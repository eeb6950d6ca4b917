"""Fixtures for the whole suite: users, logged-in clients, and the browser (Debian Chromium)."""

import os
import shutil
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import Error as PlaywrightError

from tests.factories import TEST_PASSWORD, ModeratorFactory, StaffFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django must allow ORM use there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    """Cheap password hashing, and no rate-limit counts or cached pages carried between tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The provider page caches are refreshed when a transaction commits, which the usual
    # rolled-back test transaction never does: tests/reviews/test_pagecache.py turns them on
    # and commits for real.
    settings.PROVIDER_PAGE_CACHE = False
    settings.PROVIDER_PARTS_CACHE = False
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password():
    return TEST_PASSWORD


@pytest.fixture
def customer(db):
    return UserFactory(display_name="Casey Customer")


@pytest.fixture
def other_customer(db):
    return UserFactory(display_name="Olly Other")


@pytest.fixture
def staff(db):
    return StaffFactory(display_name="Stella Staff")


@pytest.fixture
def moderator(db):
    return ModeratorFactory(display_name="Morgan Moderator")


@pytest.fixture
def client_logged_in(client, customer):
    client.force_login(customer)
    return client


# --- Browser ------------------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's Chromium. Where it is missing they are skipped with a
    clear message — unless E2E_REQUIRED=1 (CI), where a missing browser is a failure."""
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return
    if os.environ.get("E2E_REQUIRED") == "1":
        return  # let them run and fail loudly in browser_type_launch_args
    skip = pytest.mark.skip(
        reason=f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (CI requires it)"
    )
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"E2E_REQUIRED=1 but Chromium is missing at {CHROMIUM}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # bypass_csp lets the tests inject axe-core; the site's own CSP is tested separately.
    return {**browser_context_args, "bypass_csp": True, "locale": "en-GB"}


@pytest.fixture
def axe(page):
    """Run axe-core on the current page; fail on any WCAG 2.x A or AA violation."""
    if not AXE_JS.exists():
        pytest.fail("axe-core is missing: run `npm ci` (make test does this)")
    source = AXE_JS.read_text()

    def check(context: str = ""):
        # A click just before may still be navigating: check the page it lands on, once
        # loaded (injecting into a document being replaced fails, so wait and try again).
        for attempt in range(5):
            page.wait_for_load_state("load")
            try:
                page.add_script_tag(content=source)
                break
            except PlaywrightError:
                if attempt == 4:
                    raise
                page.wait_for_timeout(200)
        result = page.evaluate(
            """async () => await axe.run(document, {runOnly: {type: 'tag', values:
               ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']}})"""
        )
        problems = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
            for v in result["violations"]
        ]
        assert not problems, f"axe violations on {context or page.url}:\n" + "\n".join(problems)

    return check
