"""Every route × every kind of caller: the status each gets, and nothing written when the answer
is a refusal.

The tables are checked against `get_resolver()`: a new page without an entry here fails
`test_every_route_has_an_entry`, so nobody adds a page without deciding who may see it.
HTML pages are listed one by one; allauth's pages and the admin are checked as groups; the API
has its own table (every endpoint × every role, extending tests/api/test_authz.py).

Each (route, method) test builds the world once and tries every role inside a savepoint that
is rolled back, so one role's successful write cannot change what the next one sees.
"""

import re

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.factories import this_month
from tests.security.conftest import ROLES, db_snapshot, snapshot_diff

LOGIN = "login"  # a 302 to the sign-in page
MEMBERS = ("responder", "manager", "owner")
SIGNED_IN = [r for r in ROLES if r != "anonymous"]
NOT_MEMBERS = [r for r in SIGNED_IN if r not in MEMBERS]


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status, **overrides):
    """Anonymous callers go to the sign-in page; everyone else gets `status` unless overridden."""
    return {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, status), **overrides}


def members_only(member_status=200, **overrides):
    """Business pages: another provider's member, a customer or staff get a 404 (the page does
    not confirm the business is there for them)."""
    return signed_in(404, **{**dict.fromkeys(MEMBERS, member_status), **overrides})


REVIEW_FORM = {
    "rating": "4",
    "title": "On time",
    "body": "The appointment ran on time and the dentist explained every step clearly.",
    "visit_month": this_month().isoformat(),
}


# route (as the resolver spells it) → {method: (url, body, {role: status}, roles that write)}.
# A POST that a role may make and that changes something lists the role under "writes"; every
# other role's request must leave the database exactly as it was.
def P(url, expect, *, body=None, writes=()):
    return (url, body, expect, frozenset(writes))


HTML = {
    "": {"get": P("/", everyone(200))},
    "health/": {"get": P("/health/", everyone(200))},
    "reviews-policy/": {"get": P("/reviews-policy/", everyone(200))},
    "privacy/": {"get": P("/privacy/", everyone(200))},
    "stats/": {"get": P("/stats/", everyone(200))},
    "sitemap.xml": {"get": P("/sitemap.xml", everyone(200))},
    "sitemap-<section>.xml": {"get": P("/sitemap-providers.xml", everyone(200))},
    "robots.txt": {"get": P("/robots.txt", everyone(200))},
    "favicon.ico": {"get": P("/favicon.ico", everyone(302))},  # to the static icon
    "providers/": {"get": P("/providers/", everyone(200))},
    "providers/<slug:slug>/": {"get": P("/providers/{slug}/", everyone(200))},
    "providers/<slug:slug>/review/": {
        "get": P("/providers/{slug}/review/", signed_in(200)),
        # The customer already has a live review, and members may not rate their own business:
        # both get the form back with the reason.
        "post": P(
            "/providers/{slug}/review/",
            signed_in(302, **{**dict.fromkeys(MEMBERS, 200), "customer": 200}),
            body=REVIEW_FORM,
            writes={"other_customer", "other_member", "moderator", "superuser"},
        ),
    },
    "providers/<slug:slug>/feed/": {"get": P("/providers/{slug}/feed/", everyone(200))},
    "providers/<slug:slug>/badge.svg": {"get": P("/providers/{slug}/badge.svg", everyone(200))},
    "reviews/<int:pk>/": {"get": P("/reviews/{review}/", everyone(200))},
    "reviews/<int:pk>/submitted/": {
        "get": P("/reviews/{review}/submitted/", signed_in(404, customer=200))
    },
    "reviews/<int:pk>/helpful/": {
        "get": P("/reviews/{review}/helpful/", signed_in(405)),
        # The author's own vote is refused with a message on the page it came from.
        "post": P(
            "/reviews/{review}/helpful/",
            signed_in(302),
            writes=set(SIGNED_IN) - {"customer"},
        ),
    },
    "reviews/<int:pk>/report/": {
        "get": P("/reviews/{review}/report/", signed_in(200)),
        "post": P(
            "/reviews/{review}/report/",
            signed_in(302),
            body={"reason": "spam", "detail": "Looks copied."},
            writes=SIGNED_IN,
        ),
    },
    # The privacy pages (issue #9, written alongside this matrix): one's own data only.
    # Deleting needs a fresh password (allauth's reauthentication): a session that only
    # carries a sign-in is sent to confirm it first, and nothing is deleted.
    "accounts/data/": {"get": P("/accounts/data/", signed_in(200))},
    "accounts/data/download/": {"get": P("/accounts/data/download/", signed_in(200))},
    "accounts/data/delete/": {
        "get": P("/accounts/data/delete/", signed_in(200)),
        "post": P("/accounts/data/delete/", signed_in(302), body={"confirm": "DELETE"}),
    },
    "accounts/reviews/": {"get": P("/accounts/reviews/", signed_in(200))},
    "accounts/reviews/<int:pk>/edit/": {
        "get": P("/accounts/reviews/{review}/edit/", signed_in(404, customer=200)),
        "post": P(
            "/accounts/reviews/{review}/edit/",
            signed_in(404, customer=302),
            body=REVIEW_FORM,
            writes={"customer"},
        ),
    },
    "accounts/reviews/<int:pk>/withdraw/": {
        "get": P("/accounts/reviews/{review}/withdraw/", signed_in(404, customer=200)),
        "post": P(
            "/accounts/reviews/{review}/withdraw/",
            signed_in(404, customer=302),
            writes={"customer"},
        ),
    },
    "providers/<slug:slug>/claim/": {
        "get": P("/providers/{slug}/claim/", signed_in(200)),
        # Members see that they already speak for it; the others' claims wait for staff.
        "post": P(
            "/providers/{slug}/claim/",
            signed_in(302, **dict.fromkeys(MEMBERS, 200)),
            body={
                "role_at_business": "Practice manager",
                "work_email": "me@riverside.example",
                "evidence": "Named on the staff page of the practice website.",
            },
            writes={"customer", "other_customer", "other_member", "moderator", "superuser"},
        ),
    },
    "business/": {"get": P("/business/", signed_in(200))},
    "business/analytics/": {"get": P("/business/analytics/", members_only(other_member=200))},
    "business/<slug:slug>/": {"get": P("/business/{slug}/", members_only())},
    "business/<slug:slug>/analytics/": {"get": P("/business/{slug}/analytics/", members_only())},
    "business/<slug:slug>/reviews/<int:review_id>/reply/": {
        "get": P("/business/{slug}/reviews/{review}/reply/", members_only()),
        "post": P(
            "/business/{slug}/reviews/{review}/reply/",
            members_only(302),
            body={"body": "We are sorry and would like to put this right.", "action": "submit"},
            writes=MEMBERS,
        ),
    },
    "business/<slug:slug>/reviews/<int:review_id>/reply/withdraw/": {
        "get": P("/business/{slug}/reviews/{replied}/reply/withdraw/", signed_in(405)),
        "post": P(
            "/business/{slug}/reviews/{replied}/reply/withdraw/",
            members_only(302),
            writes=MEMBERS,
        ),
    },
    "business/<slug:slug>/templates/": {"get": P("/business/{slug}/templates/", members_only())},
    "business/<slug:slug>/templates/new/": {
        # A responder may read the templates (read-only page) but not save one.
        "get": P("/business/{slug}/templates/new/", members_only()),
        "post": P(
            "/business/{slug}/templates/new/",
            members_only(302, responder=403),
            body={"name": "Thanks", "body": "Thank you for your kind words."},
            writes={"manager", "owner"},
        ),
    },
    "business/<slug:slug>/templates/<int:template_id>/": {
        "get": P("/business/{slug}/templates/{template}/", members_only()),
        "post": P(
            "/business/{slug}/templates/{template}/",
            members_only(302, responder=403),
            body={"name": "Thanks", "body": "Thank you for your kind words."},
            writes={"manager", "owner"},
        ),
    },
    "business/<slug:slug>/templates/<int:template_id>/delete/": {
        "get": P("/business/{slug}/templates/{template}/delete/", signed_in(405)),
        "post": P(
            "/business/{slug}/templates/{template}/delete/",
            members_only(302, responder=403),
            writes={"manager", "owner"},
        ),
    },
    "business/<slug:slug>/team/": {"get": P("/business/{slug}/team/", members_only())},
    "business/<slug:slug>/team/invite/": {
        "get": P("/business/{slug}/team/invite/", members_only()),
        "post": P(
            "/business/{slug}/team/invite/",
            members_only(403, owner=302),
            body={"email": "new.colleague@example.com", "role": "responder", "job_title": ""},
            writes={"owner"},
        ),
    },
    "business/<slug:slug>/team/<int:membership_id>/": {
        "get": P("/business/{slug}/team/{membership}/", members_only()),
        "post": P(
            "/business/{slug}/team/{membership}/",
            members_only(403, owner=302),
            body={"role": "manager", "job_title": "Receptionist"},
            writes={"owner"},
        ),
    },
    "business/<slug:slug>/team/<int:membership_id>/remove/": {
        "get": P("/business/{slug}/team/{membership}/remove/", members_only()),
        "post": P(
            "/business/{slug}/team/{membership}/remove/",
            members_only(403, owner=302),
            writes={"owner"},
        ),
    },
    "business/<slug:slug>/team/invitations/<int:invitation_id>/revoke/": {
        "get": P("/business/{slug}/team/invitations/{team_invitation}/revoke/", members_only(302)),
        "post": P(
            "/business/{slug}/team/invitations/{team_invitation}/revoke/",
            members_only(403, owner=302),
            writes={"owner"},
        ),
    },
    "business/join/<str:token>/": {
        "get": P("/business/join/{team_token}/", signed_in(200)),
        # The invitation is for the other customer's address: anyone else is told so (200).
        "post": P(
            "/business/join/{team_token}/",
            signed_in(200, other_customer=302),
            writes={"other_customer"},
        ),
    },
    "business/<slug:slug>/settings/": {
        "get": P("/business/{slug}/settings/", members_only()),
        "post": P(
            "/business/{slug}/settings/",
            members_only(403, owner=302),
            body={"reply_target_hours": "24"},
            writes={"owner"},
        ),
    },
    "business/<slug:slug>/invitations/": {
        "get": P("/business/{slug}/invitations/", members_only()),
        "post": P(
            "/business/{slug}/invitations/",
            members_only(302, responder=403),
            body={"addresses": "new.customer@example.com"},
            writes={"manager", "owner"},
        ),
    },
    "business/<slug:slug>/exports/": {"get": P("/business/{slug}/exports/", members_only())},
    # A download is recorded (who took the customers' data, when): a GET that writes.
    "business/<slug:slug>/exports/<slug:kind>.csv": {
        "get": P(
            "/business/{slug}/exports/reviews.csv",
            members_only(responder=403),
            writes={"manager", "owner"},
        )
    },
    "invite/<str:token>/": {"get": P("/invite/{invite_token}/", everyone(302))},
    "tickets/<int:pk>/": {
        "get": P("/tickets/{ticket}/", members_only(customer=200)),
        "post": P(
            "/tickets/{ticket}/",
            members_only(302, customer=302),
            body={"action": "message", "message-body": "Any news?"},
            writes={*MEMBERS, "customer"},
        ),
    },
    "accounts/tickets/": {"get": P("/accounts/tickets/", signed_in(200))},
    "business/<slug:slug>/tickets/": {"get": P("/business/{slug}/tickets/", members_only())},
    "providers/<slug:slug>/complain/": {
        "get": P("/providers/{slug}/complain/", signed_in(200)),
        # Members may not complain to their own business: the form says so.
        "post": P(
            "/providers/{slug}/complain/",
            signed_in(302, **dict.fromkeys(MEMBERS, 200)),
            body={"subject": "Prescription not ready", "message": "Twice this month."},
            writes={"customer", "other_customer", "other_member", "moderator", "superuser"},
        ),
    },
}


# --- the resolver's routes -------------------------------------------------------------------
def walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


ALLAUTH_NAME = re.compile(r"^(account|mfa|usersessions)_")


def route_group(route: str, pattern: URLPattern) -> str:
    if route.startswith("admin/"):
        return "admin"
    if route.startswith("api/"):
        return "api"
    if ALLAUTH_NAME.match(pattern.name or ""):
        return "allauth"
    return "html"


def all_routes():
    return [(route, route_group(route, p), p) for route, p in walk(get_resolver().url_patterns)]


def test_every_route_has_an_entry():
    missing = []
    for route, group, _pattern in all_routes():
        if group == "html" and route not in HTML:
            missing.append(route)
        if group == "api" and route not in API:
            missing.append(route)
    assert not missing, "routes with no entry in the authorisation matrix: " + ", ".join(missing)
    stale = set(HTML) - {r for r, g, _p in all_routes() if g == "html"}
    assert not stale, f"entries for routes that no longer exist: {sorted(stale)}"


# --- running one entry -----------------------------------------------------------------------
def fill(url: str, people: dict) -> str:
    return url.format(
        slug=people["provider"].slug,
        review=people["review"].pk,
        replied=people["replied"].pk,
        ticket=people["ticket"].pk,
        template=people["template"].pk,
        membership=people["responder_membership"].pk,
        team_invitation=people["team_invitation"].pk,
        team_token=people["team_invitation"].token,
        invite_token=people["invitation"].token,
    )


def client_for(role: str, people: dict, *, api: bool = False):
    client = APIClient() if api else Client()
    if role != "anonymous":
        client.force_login(people[role])
    return client


def status_of(response) -> object:
    if response.status_code == 302 and response["Location"].startswith(
        ("/accounts/login/", "/admin/login/")
    ):
        return LOGIN
    return response.status_code


def check_every_role(people, method, url, body, expect, writes, *, api=False, fmt=None):
    """Each role in its own rolled-back savepoint; returns a list of problems."""
    url = fill(url, people)
    problems = []
    for role in ROLES:
        cache.clear()  # rate limits are per user/IP: one role's attempt must not limit another
        client = client_for(role, people, api=api)
        with transaction.atomic():
            before = db_snapshot()
            kwargs = {"format": fmt} if api and fmt else {}
            response = getattr(client, method)(url, body or {}, **kwargs)
            got = status_of(response)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            after = db_snapshot()
            transaction.set_rollback(True)
        want = expect[role]
        if got != want:
            problems.append(f"{role}: {method.upper()} {url} → {got}, expected {want}")
        changed = snapshot_diff(before, after)
        if role in writes and not changed and got == want:
            problems.append(f"{role}: {method.upper()} {url} → {got} but wrote nothing")
        if role not in writes and changed:
            problems.append(f"{role}: {method.upper()} {url} → {got} and changed {changed}")
    return problems


HTML_CASES = [
    pytest.param(route, method, *spec, id=f"{method} {route or '/'}")
    for route, methods in HTML.items()
    for method, spec in methods.items()
]


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "url", "body", "expect", "writes"), HTML_CASES)
def test_html_route(people, route, method, url, body, expect, writes):
    assert set(expect) == set(ROLES), f"{route}: give every role a status"
    problems = check_every_role(people, method, url, body, expect, writes)
    assert not problems, "\n".join(problems)


# --- allauth's pages, as a group -------------------------------------------------------------
# Pages about one's own account: anonymous callers are sent to sign in. The rest are for
# signing in, up or resetting a password, which anyone may open (a signed-in visitor may be
# redirected away). Pages that need a key in the URL are checked with a wrong key.
ALLAUTH_SIGNED_IN_ONLY = {
    "account_email",
    "account_change_password",
    "account_set_password",
    "account_reauthenticate",
    "mfa_index",
    "mfa_reauthenticate",
    "mfa_activate_totp",
    "mfa_deactivate_totp",
    "mfa_view_recovery_codes",
    "mfa_generate_recovery_codes",
    "mfa_download_recovery_codes",
    "usersessions_list",
}


def _allauth_url(pattern_route: str) -> str:
    url = re.sub(r"\^|\$", "", pattern_route)
    url = re.sub(r"\(\?P<uidb36>[^)]*\)-\(\?P<key>[^)]*\)", "zz-wrong-key", url)
    url = re.sub(r"\(\?P<key>[^)]*\)", "wrong-key", url)
    return "/" + url


@pytest.mark.django_db
def test_allauth_pages_never_fail_and_own_account_pages_need_sign_in(people):
    problems = []
    allauth = [(r, p) for r, g, p in all_routes() if g == "allauth"]
    assert len(allauth) >= 20
    for route, pattern in allauth:
        url = _allauth_url(route)
        for role in ("anonymous", "customer", "superuser"):
            got = status_of(client_for(role, people).get(url))
            if isinstance(got, int) and got >= 500:
                problems.append(f"{role}: GET {url} → {got}")
            if role == "anonymous" and pattern.name in ALLAUTH_SIGNED_IN_ONLY and got != LOGIN:
                problems.append(f"{role}: GET {url} → {got}, expected {LOGIN}")
            if role != "anonymous" and got not in (200, 302, 404, 405):
                problems.append(f"{role}: GET {url} → {got}")
    assert not problems, "\n".join(problems)


# --- the admin, as a group -------------------------------------------------------------------
def admin_changelists():
    return list(admin.site._registry.items())


def _admin_url(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


@pytest.mark.django_db
# Every other non-staff role is covered, on every admin URL, by the test after this one.
@pytest.mark.parametrize("role", ["other_member", "moderator", "superuser"])
def test_every_admin_changelist_is_staff_only(people, role):
    """Non-staff (customers, business members) go to the sign-in page; a moderator sees the
    models the Moderators group may view and is refused the rest; a superuser sees them all."""
    user = people.get(role)
    client = client_for(role, people)
    problems = []
    urls = ["/admin/"] + [_admin_url(model) for model, _ma in admin_changelists()]
    for model, _ma in [(None, None), *admin_changelists()]:
        url = "/admin/" if model is None else _admin_url(model)
        got = status_of(client.get(url))
        if role == "superuser":
            want = 200
        elif user is None or not user.is_staff:
            want = LOGIN
        elif model is None:
            want = 200
        else:
            opts = model._meta
            can = user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
                f"{opts.app_label}.change_{opts.model_name}"
            )
            want = 200 if can else 403
        if got != want:
            problems.append(f"{role}: GET {url} → {got}, expected {want}")
    assert len(urls) > 20
    if role == "moderator":  # the rule above, pinned down where it matters most
        fixed = {
            "/admin/reviews/pendingreview/": 200,
            "/admin/responses/pendingreply/": 200,
            "/admin/reviews/moderationdecision/export/": 200,
            "/admin/accounts/user/": 403,
            "/admin/auth/group/": 403,
            "/admin/authtoken/tokenproxy/": 403,
        }
        for url, want in fixed.items():
            got = status_of(client.get(url))
            if got != want:
                problems.append(f"{role}: GET {url} → {got}, expected {want}")
    assert not problems, "\n".join(problems)


def _admin_route_url(route: str) -> str:
    url = re.sub(r"<(path|int):\w+>", "1", route)
    url = re.sub(r"\^\(\?P<app_label>[^)]*\)/\$", "reviews/", url)
    return "/" + url.replace("(?P<url>.*)$", "anything/")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "customer", "owner"])
def test_every_admin_route_sends_non_staff_to_sign_in(people, role):
    """Every admin URL the resolver knows (changes, deletions, history, exports, the password
    form, autocomplete), not only the changelists: non-staff callers are sent to sign in."""
    client = client_for(role, people)
    problems = []
    for route, group, _pattern in all_routes():
        if group != "admin" or route in ("admin/login/", "admin/logout/"):
            continue
        url = _admin_route_url(route)
        got = status_of(client.get(url))
        if got != LOGIN:
            problems.append(f"{role}: GET {url} → {got}, expected {LOGIN}")
    assert not problems, "\n".join(problems)


# --- the API ---------------------------------------------------------------------------------
# The same idea as tests/api/test_authz.py, over every endpoint the resolver lists and the three
# roles that file leaves out (manager, owner, superuser). Method keys may carry a "#variant".
API_REVIEW = {
    "provider": "riverside-dental",
    "rating": 4,
    "title": "On time",
    "body": "The appointment ran on time and the dentist explained every step clearly.",
    "visit_date": this_month().isoformat(),
}


def api(expect_anonymous=401, **by_role):
    """API refusals of anonymous callers are 401 (JSON), never a redirect."""
    default = by_role.pop("default", None)
    return {"anonymous": expect_anonymous, **dict.fromkeys(SIGNED_IN, default), **by_role}


API = {
    "api/v1/auth/token/": {
        "post#wrong-password": P(
            "/api/v1/auth/token/",
            everyone(400),
            body={"email": "someone@example.com", "password": "wrong"},
        ),
        "get": P("/api/v1/auth/token/", everyone(405)),
    },
    "api/v1/providers/<slug:slug>/reviews/": {
        "get": P("/api/v1/providers/{slug}/reviews/", everyone(200)),
        "post": P("/api/v1/providers/{slug}/reviews/", api(default=405)),
    },
    "api/v1/^categories/$": {"get": P("/api/v1/categories/", everyone(200))},
    "api/v1/^providers/$": {
        "get": P("/api/v1/providers/", everyone(200)),
        "post": P("/api/v1/providers/", api(default=405)),
    },
    "api/v1/^providers/(?P<slug>[^/.]+)/$": {
        "get": P("/api/v1/providers/{slug}/", everyone(200)),
        "patch": P("/api/v1/providers/{slug}/", api(default=405), body={"name": "Mine now"}),
        "delete": P("/api/v1/providers/{slug}/", api(default=405)),
    },
    "api/v1/^reviews/$": {
        "get": P("/api/v1/reviews/", api(default=405, expect_anonymous=405)),
        # The author already has a live review here; members may not rate their business.
        "post": P(
            "/api/v1/reviews/",
            api(default=201, customer=400, **dict.fromkeys(MEMBERS, 400)),
            body=API_REVIEW,
            writes={"other_customer", "other_member", "moderator", "superuser"},
        ),
    },
    "api/v1/^reviews/(?P<pk>\\d+)/$": {
        "get": P("/api/v1/reviews/{review}/", everyone(200)),
        "patch": P(
            "/api/v1/reviews/{review}/",
            api(default=403, customer=200),
            body={"title": "Edited title"},
            writes={"customer"},
        ),
        "put": P("/api/v1/reviews/{review}/", api(default=405), body=API_REVIEW),
        "delete": P(
            "/api/v1/reviews/{review}/", api(default=403, customer=204), writes={"customer"}
        ),
    },
    "api/v1/^reviews/(?P<pk>\\d+)/helpful/$": {
        "post": P(
            "/api/v1/reviews/{review}/helpful/",
            api(default=200, customer=400),
            writes=set(SIGNED_IN) - {"customer"},
        ),
        # Nobody has voted yet: taking a vote back changes nothing, for anyone.
        "delete": P("/api/v1/reviews/{review}/helpful/", api(default=200)),
        "get": P("/api/v1/reviews/{review}/helpful/", api(default=405)),
    },
    "api/v1/^reviews/(?P<pk>\\d+)/reply/$": {
        "post": P(
            "/api/v1/reviews/{review}/reply/",
            api(default=403, **dict.fromkeys(MEMBERS, 201)),
            body={"body": "We are sorry and would like to put this right."},
            writes=MEMBERS,
        ),
    },
    "api/v1/^reviews/(?P<pk>\\d+)/reports/$": {
        "post": P(
            "/api/v1/reviews/{review}/reports/",
            api(default=201),
            body={"reason": "spam", "detail": "Looks copied."},
            writes=SIGNED_IN,
        ),
    },
    "api/v1/business/providers/<slug:slug>/invitations/": {
        # A responder is on the team but may not invite (403); outsiders do not see it (404).
        "post": P(
            "/api/v1/business/providers/{slug}/invitations/",
            api(default=404, responder=403, manager=201, owner=201),
            body={"emails": ["new.customer@example.com"]},
            writes={"manager", "owner"},
        ),
    },
    "api/v1/^tickets/$": {"get": P("/api/v1/tickets/", api(default=200))},
    "api/v1/^tickets/(?P<pk>\\d+)/$": {
        "get": P(
            "/api/v1/tickets/{ticket}/",
            api(default=404, customer=200, **dict.fromkeys(MEMBERS, 200)),
        ),
        "patch": P("/api/v1/tickets/{ticket}/", api(default=405), body={"status": "closed"}),
    },
    "api/v1/^tickets/(?P<pk>\\d+)/messages/$": {
        "post": P(
            "/api/v1/tickets/{ticket}/messages/",
            api(default=404, customer=201, **dict.fromkeys(MEMBERS, 201)),
            body={"body": "Any news?"},
            writes={"customer", *MEMBERS},
        ),
    },
    "api/v1/^tickets/(?P<pk>\\d+)/transition/$": {
        # The customer takes part but may not acknowledge: not allowed (409), not hidden.
        "post": P(
            "/api/v1/tickets/{ticket}/transition/",
            api(default=404, customer=409, **dict.fromkeys(MEMBERS, 200)),
            body={"to": "acknowledged"},
            writes=MEMBERS,
        ),
    },
    "api/schema/": {"get": P("/api/schema/", everyone(200))},
    "api/docs/": {"get": P("/api/docs/", everyone(200))},
}

API_CASES = [
    pytest.param(route, method.split("#")[0], *spec, id=f"{method} {route}")
    for route, methods in API.items()
    for method, spec in methods.items()
]


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method", "url", "body", "expect", "writes"), API_CASES)
def test_api_route(people, route, method, url, body, expect, writes):
    assert set(expect) == set(ROLES), f"{route}: give every role a status"
    problems = check_every_role(people, method, url, body, expect, writes, api=True, fmt="json")
    assert not problems, "\n".join(problems)
