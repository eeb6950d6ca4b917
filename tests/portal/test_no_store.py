"""Private pages are never kept by a browser or a shared cache, and personal data never travels in
a URL. Every URL under /business/, /tickets/ and /accounts/ is found from the URL patterns (so a
new dashboard page is covered without touching this file), filled in with real ids, and fetched
by someone entitled to it: each answer, whatever its status, says `Cache-Control: no-store`."""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from responses.models import ResponseTemplate, Role
from responses.services.team import team_invite
from tests.factories import (
    MembershipFactory,
    ProviderFactory,
    ReviewFactory,
    TicketFactory,
    UserFactory,
    publish,
)

pytestmark = pytest.mark.django_db

PRIVATE_PREFIXES = ("business/", "tickets/", "accounts/")


def _routes(patterns=None, prefix="", params=()):
    """(route text, parameter names with their converters) for every URL pattern."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        found = {
            **dict(params),
            **dict.fromkeys(pattern.pattern.regex.groupindex, None),
            **getattr(pattern.pattern, "converters", {}),
        }
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, route, found.items())
        elif isinstance(pattern, URLPattern):
            yield route, found


def _fill(route: str, values: dict) -> str | None:
    """A concrete path for a `path()` route or a simple regex route; None if it cannot be."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), "x")), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), "x")), path)
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    if any(ch in path for ch in "()[]*+?|"):
        return None
    return "/" + path


@pytest.fixture
def business():
    provider = ProviderFactory(slug="riverside-dental", is_claimed=True)
    owner = MembershipFactory(provider=provider, role=Role.OWNER).user
    colleague = MembershipFactory(provider=provider, role=Role.RESPONDER)
    review = publish(ReviewFactory(provider=provider, rating=2))
    ticket = TicketFactory(provider=provider, review=review, customer=review.author)
    template = ResponseTemplate.objects.create(provider=provider, name="Thanks", body="Thank you.")
    invitation = team_invite(
        provider=provider, actor=owner, email="new.colleague@example.com", role=Role.RESPONDER
    )
    values = {
        "slug": provider.slug,
        "kind": "reviews",
        "review_id": review.pk,
        "pk": ticket.pk,
        "template_id": template.pk,
        "membership_id": colleague.pk,
        "invitation_id": invitation.pk,
        "token": invitation.token,
    }
    return owner, review.author, values


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _private_paths(values):
    paths = set()
    for route, _params in _routes():
        if route.startswith(PRIVATE_PREFIXES):
            path = _fill(route, values)
            if path:
                paths.add(path)
    return sorted(paths)


def test_the_walk_finds_the_private_pages(business):
    _owner, _customer, values = business
    paths = _private_paths(values)
    for expected in (
        "/business/",
        "/business/riverside-dental/",
        "/business/riverside-dental/analytics/",
        "/business/riverside-dental/team/",
        "/business/riverside-dental/exports/reviews.csv",
        f"/tickets/{values['pk']}/",
        "/accounts/tickets/",
        "/accounts/data/",
        "/accounts/data/download/",
    ):
        assert expected in paths


def test_every_private_page_says_no_store(business):
    owner, customer, values = business
    as_owner, as_customer, anonymous = _client(owner), _client(customer), Client()
    missing = []
    for path in _private_paths(values):
        for who, client in (("owner", as_owner), ("customer", as_customer), ("anon", anonymous)):
            response = client.get(path)
            if "no-store" not in response.get("Cache-Control", ""):
                missing.append(f"{path} ({who}, {response.status_code})")
    if missing:
        pytest.fail("no Cache-Control: no-store on:\n" + "\n".join(missing))


@pytest.mark.parametrize(
    "path_name",
    ["/business/", "/business/riverside-dental/exports/tickets.csv", "/accounts/data/download/"],
)
def test_the_main_ones_answer_200_with_no_store(business, path_name):
    owner, _customer, _values = business
    response = _client(owner).get(path_name)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# Parameter names a URL may take: ids, slugs, tokens and keys, and the admin's own.
ALLOWED_PARAMS = {
    "pk",
    "id",
    "review_id",
    "template_id",
    "membership_id",
    "invitation_id",
    "slug",
    "kind",
    "token",
    "key",
    "section",  # a sitemap section: "pages" or "providers"
    "uidb36",
    # the admin: model names, numeric object ids, its catch-all
    "app_label",
    "content_type_id",
    "object_id",
    "url",
    "format",
}
PERSONAL = re.compile(r"email|mail|name|user|phone|address|postcode", re.IGNORECASE)


def test_no_url_takes_personal_data():
    seen = set()
    for route, params in _routes():
        for name, converter in params.items():
            seen.add(name)
            assert not PERSONAL.search(name), f"{route} takes {name!r}"
            assert name in ALLOWED_PARAMS, f"{route} takes {name!r}: is that an id or a token?"
            if converter is not None and type(converter).__name__ == "PathConverter":
                assert name in {"content_type_id", "object_id", "url"}, (
                    f"{route}: path for {name!r}"
                )
    assert {"pk", "slug", "token"} <= seen  # the walk reached the apps' patterns


def test_a_new_customer_page_is_covered_too():
    """The prefixes are the rule, not a list of views: an unknown page under them gets it."""
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/accounts/no-such-page/")
    assert "no-store" in response.get("Cache-Control", "")
