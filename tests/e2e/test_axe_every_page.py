"""Every page people see, in real Chromium, checked by axe-core for WCAG 2.0/2.1/2.2 A and AA
(issue #11): public pages, the customer's account pages, allauth's pages, the business
dashboard, tickets from both sides, the moderation desk and the error pages.

PAGES is checked against `get_resolver()`: a new page without an entry fails
`test_every_html_route_has_a_page_or_a_reason`, unless EXCLUDED says why it needs none.

One world with realistic data is built once for the module and put back into the test
database before each page (on SQLite with its backup API, in milliseconds, where building it
again through the services takes seconds). Each page is opened by a browser whose session cookie was
made on the server, not by typing a password.
"""

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.management.color import no_style
from django.db import connection, transaction
from django.test import override_settings
from django.urls import Resolver404, resolve
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.axe_world import build_world, session_for
from tests.factories import TEST_PASSWORD
from tests.security.test_authz_matrix import all_routes


# --- steps that reach a page only a form can lead to -------------------------------------------
def _request_login_code(page, base, w):
    page.goto(base + "/accounts/login/code/")
    page.get_by_label("Email").fill(w["customer_email"])
    page.get_by_role("button", name=re.compile("code", re.I)).click()
    page.wait_for_url(re.compile(r"/accounts/login/code/confirm/"))


def _password_then_second_factor(page, base, w):
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(w["owner_email"])
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))


def _submit_empty(button: str) -> Callable:
    """Send a form as it first appears, to see its errors."""

    def step(page, base, w):
        page.get_by_role("button", name=button).click()
        page.wait_for_load_state("load")
        expect(page.locator(".error-summary")).to_be_visible()

    return step


def _admin_action(row_text: str, action: str) -> Callable:
    """Choose a row of the changelist and an action that asks for more before it acts."""

    def step(page, base, w):
        page.get_by_role("row").filter(has_text=row_text).get_by_role("checkbox").check()
        page.get_by_label("Action:").select_option(label=action)
        page.get_by_role("button", name="Run").click()
        page.wait_for_load_state("load")

    return step


# --- the table --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    route: str | None  # as get_resolver() spells it; None for a URL that resolves to nothing
    url: str  # with {slug}, {review}, ... filled from the world
    role: str  # "anonymous" or a key of the world naming a user
    shows: str  # text that must be visible on the page
    status: int = 200
    before: Callable | None = None  # browser steps after opening `url`, to reach the page
    lands_on: str = ""  # the page `before` leads to, when it is not `url`
    name: str = ""  # tells apart two entries for one URL
    urlconf: str = ""  # another ROOT_URLCONF, for the error pages no real URL leads to

    @property
    def id(self) -> str:
        return f"{self.role} {self.lands_on or self.url}{' ' + self.name if self.name else ''}"


A, C = "anonymous", "customer"
PROVIDER = "providers/<slug:slug>/"
BUSINESS = "business/<slug:slug>/"
CHANGE = "<path:object_id>/change/"
ERRORS = "tests.portal.error_urls"  # the site's URLs and views that fail on purpose

PAGES = [
    # public pages
    Page("", "/", A, "How Heard works"),
    Page("", "/", C, "How Heard works", name="signed in"),
    Page("reviews-policy/", "/reviews-policy/", A, "How reviews work on Heard"),
    Page("privacy/", "/privacy/", A, "Privacy"),
    Page("stats/", "/stats/", A, "Published reviews"),
    Page("providers/", "/providers/", A, "Riverside Surgery"),
    Page("providers/", "/providers/?q=surgery&town=Leeds", A, "Riverside Surgery", name="search"),
    Page(PROVIDER, "/providers/{slug}/", A, "Riverside Surgery"),
    Page(PROVIDER, "/providers/{slug}/?page=2", C, "Riverside Surgery", name="page 2"),
    Page(PROVIDER, "/providers/{alert_slug}/", A, "We removed 14 reviews", name="alert"),
    Page(PROVIDER + "review/", "/providers/{slug}/review/", "newcomer", "Review Riverside Surgery"),
    Page(
        PROVIDER + "review/",
        "/providers/{slug}/review/",
        "newcomer",
        "Review Riverside Surgery",
        before=_submit_empty("Submit review"),
        name="with errors",
    ),
    Page("invite/<str:token>/", "/invite/{invite_token}/", "newcomer", "Invited"),
    Page(
        "invite/<str:token>/", "/invite/{expired_token}/", A, "expired", status=410, name="expired"
    ),
    Page("reviews/<int:pk>/", "/reviews/{review}/", A, "Waited three weeks"),
    Page("reviews/<int:pk>/", "/reviews/{outcome}/", A, "Change made", name="outcome"),
    Page("reviews/<int:pk>/", "/reviews/{review}/", C, "Waited three weeks", name="author"),
    Page("reviews/<int:pk>/submitted/", "/reviews/{pending}/submitted/", C, "Thank you"),
    Page(
        "reviews/<int:pk>/report/", "/reviews/{review}/report/", "other_customer", "Report a review"
    ),
    Page(PROVIDER + "claim/", "/providers/{claim_slug}/claim/", "newcomer", "Hilltop Pharmacy"),
    Page(PROVIDER + "complain/", "/providers/{slug}/complain/", "newcomer", "Riverside Surgery"),
    # the customer's own pages
    Page("accounts/reviews/", "/accounts/reviews/", C, "Waited three weeks"),
    Page(
        "accounts/reviews/<int:pk>/edit/",
        "/accounts/reviews/{rejected}/edit/",
        C,
        "Edit your review",
    ),
    Page(
        "accounts/reviews/<int:pk>/withdraw/",
        "/accounts/reviews/{review}/withdraw/",
        C,
        "Waited three weeks",
    ),
    Page("accounts/tickets/", "/accounts/tickets/", C, "Rude receptionist"),
    Page("tickets/<int:pk>/", "/tickets/{ticket}/", C, "I am looking into it today"),
    Page(
        "tickets/<int:pk>/",
        "/tickets/{resolved}/",
        C,
        "Yes, this is resolved",
        name="resolution proposed",
    ),
    Page("accounts/data/", "/accounts/data/", C, "Your data"),
    Page("accounts/data/delete/", "/accounts/data/delete/", C, "Delete your account"),
    # the business dashboard
    Page("business/", "/business/", "owner", "Riverside Surgery"),
    Page("business/", "/business/", C, "Claim", name="no business"),
    Page("business/analytics/", "/business/analytics/", "owner", "Riverside Surgery"),
    Page(BUSINESS, "/business/{slug}/", "responder", "Riverside Surgery"),
    Page(
        BUSINESS,
        "/business/{slug}/?tab=rejected",
        "owner",
        "Riverside Surgery",
        name="rejected replies",
    ),
    Page(BUSINESS + "analytics/", "/business/{slug}/analytics/", "owner", "reviews in the period"),
    Page(
        BUSINESS + "reviews/<int:review_id>/reply/",
        "/business/{slug}/reviews/{unanswered}/reply/",
        "responder",
        "Apology with action",
    ),
    Page(BUSINESS + "templates/", "/business/{slug}/templates/", "manager", "Apology with action"),
    Page(
        BUSINESS + "templates/new/",
        "/business/{slug}/templates/new/",
        "manager",
        "Riverside Surgery",
    ),
    Page(
        BUSINESS + "templates/<int:template_id>/",
        "/business/{slug}/templates/{template}/",
        "manager",
        "Riverside Surgery",
    ),
    Page(BUSINESS + "team/", "/business/{slug}/team/", "owner", "Rory Responder"),
    Page(BUSINESS + "team/", "/business/{slug}/team/", "responder", "Olive Owner", name="read"),
    Page(BUSINESS + "team/invite/", "/business/{slug}/team/invite/", "owner", "Riverside Surgery"),
    Page(
        BUSINESS + "team/<int:membership_id>/",
        "/business/{slug}/team/{membership}/",
        "owner",
        "Rory Responder",
    ),
    Page(
        BUSINESS + "team/<int:membership_id>/remove/",
        "/business/{slug}/team/{membership}/remove/",
        "owner",
        "Rory Responder",
    ),
    Page(
        "business/join/<str:token>/", "/business/join/{team_token}/", "invitee", "Riverside Surgery"
    ),
    Page(BUSINESS + "settings/", "/business/{slug}/settings/", "owner", "Riverside Surgery"),
    Page(BUSINESS + "invitations/", "/business/{slug}/invitations/", "manager", "@example.com"),
    Page(BUSINESS + "exports/", "/business/{slug}/exports/", "owner", "Riverside Surgery"),
    Page(BUSINESS + "tickets/", "/business/{slug}/tickets/", "responder", "Lost referral"),
    Page(
        "tickets/<int:pk>/",
        "/tickets/{ticket}/",
        "responder",
        "Check the results inbox rota",
        name="business",
    ),
    Page("tickets/<int:pk>/", "/tickets/{escalated}/", "owner", "Lost referral", name="escalated"),
    Page(
        "tickets/<int:pk>/",
        "/tickets/{escalated}/",
        "other_customer",
        "Lost referral",
        name="escalated, customer",
    ),
    # allauth: signing in, up and out, and one's own account
    Page("accounts/login/", "/accounts/login/", A, "Sign In"),
    Page("accounts/signup/", "/accounts/signup/", A, "Sign Up"),
    Page("accounts/logout/", "/accounts/logout/", C, "Sign Out"),
    Page("accounts/inactive/", "/accounts/inactive/", A, "Account Inactive"),
    Page("accounts/confirm-email/", "/accounts/confirm-email/", A, "Verify Your Email Address"),
    Page(
        "accounts/^confirm-email/(?P<key>[-:\\w]+)/$",
        "/accounts/confirm-email/{confirm_key}/",
        A,
        "una@example.com",
    ),
    Page(
        "accounts/^confirm-email/(?P<key>[-:\\w]+)/$",
        "/accounts/confirm-email/wrong-key/",
        A,
        "expired or is invalid",
        name="wrong key",
    ),
    Page("accounts/password/reset/", "/accounts/password/reset/", A, "Password Reset"),
    Page("accounts/password/reset/done/", "/accounts/password/reset/done/", A, "Password Reset"),
    Page(
        "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "/accounts/password/reset/key/{reset_key}/",
        A,
        "Change Password",
    ),
    Page(
        "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$",
        "/accounts/password/reset/key/zz-wrong-key/",
        A,
        "Bad Token",
        name="wrong key",
    ),
    Page(
        "accounts/password/reset/key/done/",
        "/accounts/password/reset/key/done/",
        A,
        "Change Password",
    ),
    Page("accounts/login/code/", "/accounts/login/code/", A, "Sign-In Code"),
    Page(
        "accounts/login/code/confirm/",
        "/accounts/login/code/",
        A,
        "Enter Sign-In Code",
        before=_request_login_code,
        lands_on="/accounts/login/code/confirm/",
    ),
    Page("accounts/reauthenticate/", "/accounts/reauthenticate/", C, "Confirm Access"),
    Page("accounts/email/", "/accounts/email/", C, "Email Address"),
    Page("accounts/password/change/", "/accounts/password/change/", C, "Change Password"),
    Page("accounts/password/set/", "/accounts/password/set/", "no_password", "Set Password"),
    Page("accounts/2fa/", "/accounts/2fa/", "owner", "Authenticator App"),
    Page("accounts/2fa/", "/accounts/2fa/", C, "Authenticator App", name="no second factor"),
    Page(
        "accounts/2fa/authenticate/",
        "/accounts/login/",
        A,
        "Two-Factor Authentication",
        before=_password_then_second_factor,
        lands_on="/accounts/2fa/authenticate/",
    ),
    Page(
        "accounts/2fa/reauthenticate/", "/accounts/2fa/reauthenticate/", "owner", "Confirm Access"
    ),
    Page(
        "accounts/2fa/totp/activate/",
        "/accounts/2fa/totp/activate/",
        C,
        "Set up an authenticator app",
    ),
    Page("accounts/2fa/totp/deactivate/", "/accounts/2fa/totp/deactivate/", "owner", "Deactivate"),
    Page(
        "accounts/2fa/recovery-codes/", "/accounts/2fa/recovery-codes/", "owner", "Recovery Codes"
    ),
    Page(
        "accounts/2fa/recovery-codes/generate/",
        "/accounts/2fa/recovery-codes/generate/",
        "owner",
        "Recovery Codes",
    ),
    Page("accounts/sessions/", "/accounts/sessions/", "owner", "Sign out all other sessions"),
    # the moderation desk
    Page("admin/", "/admin/", "moderator", "Moderation queues"),
    Page(
        "admin/^(?P<app_label>auth|account|mfa|usersessions|authtoken|django_tasks_database|"
        "accounts|reviews|responses)/$",
        "/admin/reviews/",
        "moderator",
        "Reviews",
    ),
    Page(
        "admin/reviews/pendingreview/", "/admin/reviews/pendingreview/", "moderator", "Never again"
    ),
    Page(
        "admin/reviews/pendingreview/",
        "/admin/reviews/pendingreview/",
        "moderator",
        "give the reason",
        before=_admin_action("Never again", "Reject selected (asks for the reason)"),
        name="reason for rejecting",
    ),
    Page(
        "admin/reviews/pendingreview/" + CHANGE,
        "/admin/reviews/pendingreview/{flagged}/change/",
        "moderator",
        "Never again",
    ),
    Page(
        "admin/reviews/pendingrevision/",
        "/admin/reviews/pendingrevision/",
        "moderator",
        "(updated)",
    ),
    Page(
        "admin/reviews/openreport/",
        "/admin/reviews/openreport/",
        "moderator",
        "written by the practice itself",
    ),
    Page("admin/reviews/review/", "/admin/reviews/review/", "moderator", "Waited three weeks"),
    Page(
        "admin/reviews/review/" + CHANGE,
        "/admin/reviews/review/{review}/change/",
        "moderator",
        "Waited three weeks",
    ),
    Page(
        "admin/reviews/moderationdecision/",
        "/admin/reviews/moderationdecision/",
        "moderator",
        "Morgan Moderator",
    ),
    Page(
        "admin/reviews/consumeralert/",
        "/admin/reviews/consumeralert/",
        "superuser",
        "We removed 14 reviews",
    ),
    Page(
        "admin/reviews/consumeralert/",
        "/admin/reviews/consumeralert/",
        "superuser",
        "give the reason",
        before=_admin_action("We removed 14 reviews", "Lift selected alerts early (asks why)"),
        name="reason for lifting",
    ),
    Page(
        "admin/reviews/consumeralert/add/",
        "/admin/reviews/consumeralert/add/",
        "moderator",
        "What was found",
    ),
    Page("admin/reviews/category/", "/admin/reviews/category/", "superuser", "GP practices"),
    Page("admin/reviews/provider/", "/admin/reviews/provider/", "superuser", "Riverside Surgery"),
    Page(
        "admin/responses/pendingclaim/",
        "/admin/responses/pendingclaim/",
        "moderator",
        "Superintendent pharmacist",
    ),
    Page(
        "admin/responses/providerclaim/",
        "/admin/responses/providerclaim/",
        "superuser",
        "Practice manager",
    ),
    Page(
        "admin/responses/membership/",
        "/admin/responses/membership/",
        "superuser",
        "Patient liaison",
    ),
    Page(
        "admin/responses/businessevent/",
        "/admin/responses/businessevent/",
        "superuser",
        "Riverside Surgery",
    ),
    Page(
        "admin/responses/pendingreply/",
        "/admin/responses/pendingreply/",
        "moderator",
        "adding staff at 8am",
    ),
    Page(
        "admin/responses/pendingreplyrevision/",
        "/admin/responses/pendingreplyrevision/",
        "moderator",
        "delighted",
    ),
    Page("admin/responses/reply/", "/admin/responses/reply/", "superuser", "Rory Responder"),
    Page(
        "admin/responses/escalatedticket/",
        "/admin/responses/escalatedticket/",
        "moderator",
        "Lost referral",
    ),
    Page(
        "admin/responses/escalatedticket/" + CHANGE,
        "/admin/responses/escalatedticket/{escalated}/change/",
        "moderator",
        "Lost referral",
    ),
    Page(
        "admin/responses/escalatedticket/",
        "/admin/responses/escalatedticket/",
        "moderator",
        "Lost referral",
        before=_admin_action("Lost referral", "Close the ticket"),
        name="closing note",
    ),
    Page("admin/responses/ticket/", "/admin/responses/ticket/", "superuser", "Rude receptionist"),
    Page(
        "admin/responses/ticketevent/",
        "/admin/responses/ticketevent/",
        "superuser",
        "Lost referral",
    ),
    Page("admin/accounts/user/", "/admin/accounts/user/", "superuser", "Casey Customer"),
    *[
        Page(f"admin/{model}/{CHANGE}", f"/admin/{model}/{{{key}}}/change/", role, shows)
        for model, key, role, shows in [
            ("accounts/user", "user_id", "superuser", "Casey Customer"),
            ("reviews/pendingrevision", "revision", "moderator", "(updated)"),
            ("reviews/openreport", "report_id", "moderator", "written by the practice itself"),
            ("reviews/moderationdecision", "decision_id", "moderator", "Dr Smith"),
            ("reviews/consumeralert", "alert_id", "moderator", "We removed 14 reviews"),
            ("reviews/category", "category_id", "superuser", "Did they listen to you?"),
            ("reviews/provider", "provider_id", "superuser", "Riverside Surgery"),
            ("responses/pendingclaim", "claim_id", "moderator", "Superintendent pharmacist"),
            ("responses/providerclaim", "approved_claim_id", "moderator", "Practice manager"),
            ("responses/membership", "membership_id", "moderator", "Patient liaison"),
            ("responses/businessevent", "business_event_id", "moderator", "Riverside Surgery"),
            ("responses/pendingreply", "pending_reply_id", "moderator", "adding staff at 8am"),
            ("responses/pendingreplyrevision", "reply_revision_id", "moderator", "delighted"),
            ("responses/reply", "reply_id", "moderator", "shared it with the team"),
            ("responses/ticket", "ticket", "moderator", "Waited three weeks"),
            ("responses/ticketevent", "ticket_event_id", "moderator", "Waited three weeks"),
        ]
    ],
    Page(
        "admin/accounts/user/",
        "/admin/accounts/user/",
        "moderator",
        "You cannot do this",
        status=403,
        name="not allowed",
    ),
    # error pages
    Page(None, "/no-such-page/", A, "Page not found", status=404),
    Page(None, "/no-such-page/", C, "Page not found", status=404, name="signed in"),
    Page("admin/(?P<url>.*)$", "/admin/no-such-page/", "moderator", "Page not found", status=404),
    Page(None, "/test-errors/429/", C, "Too many attempts", status=429, urlconf=ERRORS),
    Page(None, "/test-errors/500/", A, "Sorry, something went wrong", status=500, urlconf=ERRORS),
]

# Routes that need no entry, each with the reason.
EXCLUDED = {
    "health/": "JSON for load balancers",
    "robots.txt": "text for crawlers",
    "favicon.ico": "redirects to the static icon",
    "sitemap.xml": "XML for search engines",
    "sitemap-<section>.xml": "XML for search engines",
    "providers/<slug:slug>/feed/": "an Atom feed",
    "providers/<slug:slug>/badge.svg": "an SVG image, checked in tests/reviews",
    "reviews/<int:pk>/helpful/": "POST only (a vote); GET is 405",
    "business/<slug:slug>/reviews/<int:review_id>/reply/withdraw/": "POST only",
    "business/<slug:slug>/templates/<int:template_id>/delete/": "POST only",
    "business/<slug:slug>/team/invitations/<int:invitation_id>/revoke/": (
        "POST only; a GET redirects to the team page"
    ),
    "business/<slug:slug>/exports/<slug:kind>.csv": "a CSV download",
    "accounts/data/download/": "a JSON download",
    "accounts/2fa/recovery-codes/download/": "a text file download",
    "api/docs/": (
        "Swagger UI's own page (drf-spectacular-sidecar), for developers: axe finds nested "
        "controls, low contrast and small targets in its markup, which we cannot change"
    ),
    "admin/login/": "redirects to the site's sign-in page",
    "admin/logout/": "POST only",
    "admin/autocomplete/": "JSON for a search box",
    "admin/jsi18n/": "the admin's JavaScript catalogue",
    "admin/r/<path:content_type_id>/<path:object_id>/": "redirects to the object on the site",
    "admin/reviews/moderationdecision/export/": "a CSV download",
}
# Groups of routes that need no entry: (pattern over the route, reason).
EXCLUDED_GROUPS = [
    (r"^api/", "the API answers JSON (its docs page is Swagger UI's, not ours)"),
    (
        r"^admin/(auth|account|mfa|usersessions|authtoken|django_tasks_database)/",
        "a third-party app's admin: Django's stock pages, which we do not customise",
    ),
    (r"^admin/.*/add/$", "add forms: our records are created on the site, through the services"),
    (r"^admin/.*/<path:object_id>/(delete|history)/$", "Django's stock delete and history pages"),
    (r"^admin/.*/<path:object_id>/$", "redirects to the change page"),
    (r"^admin/.*/<id>/password/$", "Django's stock password form"),
    (r"^admin/password_change/", "Django's stock password form (staff use the site's)"),
]


def _resolver_spelling(route: str) -> str:
    """A route from get_resolver() as a ResolverMatch spells it (regex parts lose their "^")."""
    return route.replace("/^", "/")


def _why_excluded(route: str) -> str:
    if route in EXCLUDED:
        return EXCLUDED[route]
    return next((why for pattern, why in EXCLUDED_GROUPS if re.search(pattern, route)), "")


def test_every_html_route_has_a_page_or_a_reason():
    covered = {page.route for page in PAGES}
    routes = {route for route, _group, _pattern in all_routes()}
    missing = sorted(r for r in routes if r not in covered and not _why_excluded(r))
    assert not missing, "pages with no entry in PAGES (or reason in EXCLUDED): " + ", ".join(
        missing
    )
    stale = sorted((set(EXCLUDED) | covered) - routes - {None})
    assert not stale, f"entries for routes that no longer exist: {stale}"
    both = sorted(r for r in covered if r in EXCLUDED)
    assert not both, f"routes both checked and excluded: {both}"


SAMPLE = defaultdict(lambda: "1", reset_key="zz-1")


@pytest.mark.parametrize("entry", PAGES, ids=lambda p: p.id)
def test_each_entry_names_the_route_its_url_resolves_to(entry):
    path = (entry.lands_on or entry.url).split("?")[0].format_map(SAMPLE)
    if entry.route is None:
        with pytest.raises(Resolver404):
            resolve(path)
    else:
        assert resolve(path).route == _resolver_spelling(entry.route)


# --- running one entry ------------------------------------------------------------------------
def _build() -> dict:
    # Cheap hashing, and the provider pages' caches off, as for every test (tests/conftest.py).
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        PROVIDER_PAGE_CACHE=False,
        PROVIDER_PARTS_CACHE=False,
    ):
        world = build_world()
    cache.clear()
    return world


def _kept() -> Callable[[], None]:
    """Keep every row of the test database as it is now; return what puts them back.

    SQLite copies the whole database with its backup API (milliseconds). Elsewhere the rows
    are read through the models and written back in one transaction (foreign keys are checked
    at its end), then the sequences are moved past them."""
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        copy = sqlite3.connect(":memory:")
        connection.connection.backup(copy)
        return lambda: copy.backup(connection.connection)
    models = [
        m
        for m in apps.get_models(include_auto_created=True)
        if m._meta.managed and not m._meta.proxy
    ]
    quote = connection.ops.quote_name
    tables = {}
    for model in models:
        fields = model._meta.local_concrete_fields
        # Values as the database takes them, read through the fields but not their pre_save
        # (which would stamp every auto_now date with the time of copying).
        values = [
            [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in fields]
            for obj in model._base_manager.all()
        ]
        columns = ", ".join(quote(field.column) for field in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = quote(model._meta.db_table)
        tables[table] = (f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608

    def put_back():
        with transaction.atomic(), connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608
            for insert, values in tables.values():
                if values:
                    cursor.executemany(insert, values)
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)

    return put_back


@pytest.fixture(scope="module")
def kept_world(django_db_setup, django_db_blocker):
    """The world, built once; and what puts it back before each page (and the database as it
    was before, at the end)."""
    with django_db_blocker.unblock():
        put_back_empty = _kept()
        try:
            world = _build()
            yield world, _kept()
        finally:
            put_back_empty()
            ContentType.objects.clear_cache()


@pytest.fixture
def world(kept_world, transactional_db):
    world, put_back = kept_world
    put_back()
    # The flush after the last test made the content types again, with other ids.
    ContentType.objects.clear_cache()
    return world


@pytest.fixture(scope="module")
def _module_page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


@pytest.fixture
def page(_module_page):
    """One browser tab for the whole module (the `axe` fixture runs in it): a new one for each
    page would fetch the admin's scripts and styles again every time. Cookies are cleared
    between pages, so each is seen as signed in only as its role."""
    _module_page.context.clear_cookies()
    return _module_page


def _fill(url: str, w: dict) -> str:
    return url.format(**w)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("entry", PAGES, ids=lambda p: p.id)
def test_page_passes_axe(entry, world, live_server, page, axe, settings):
    base = live_server.url
    if entry.urlconf:
        settings.ROOT_URLCONF = entry.urlconf
    if entry.role != A:
        user = User.objects.get(pk=world[entry.role])
        page.context.add_cookies(
            [{"name": django_settings.SESSION_COOKIE_NAME, "value": session_for(user), "url": base}]
        )
    statuses = []

    def record(response):
        if response.request.is_navigation_request() and response.frame == page.main_frame:
            statuses.append(response.status)

    page.on("response", record)
    try:
        page.goto(base + _fill(entry.url, world))
        if entry.before:
            entry.before(page, base, world)
        page.wait_for_load_state("load")
    finally:
        page.remove_listener("response", record)
    if entry.lands_on:
        assert page.url.startswith(base + entry.lands_on)
    heading = (
        page.locator("h1").first.text_content(timeout=2000) if page.locator("h1").count() else ""
    )
    assert statuses and statuses[-1] == entry.status, (
        f"{page.url} answered {statuses}, expected {entry.status} (h1: {heading!r})"
    )
    shows = re.compile(re.escape(entry.shows), re.IGNORECASE)  # allauth's capitals vary
    expect(page.locator("main")).to_contain_text(shows, use_inner_text=True, timeout=2000)
    axe(f"{entry.id} ({page.url}, h1: {heading!r})")
