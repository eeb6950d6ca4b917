"""Every page a GET can reach and every API list: the same number of queries, at most
QUERY_BUDGET, for 10 rows of what it lists as for 1,000 (issue #10).

Each entry builds the world with SMALL rows, requests the page as the role that sees them and
counts the queries; then adds rows up to LARGE and counts again. The page must answer 200 and
show its rows both times. A first, uncounted request warms the per-process caches (content
types, the site); the shared cache is cleared before each counted one, so what is counted is a
cold shared cache (the session read from the database, no cached page or figures): the most a
page costs.

The table is checked against `get_resolver()`: a new GET page without an entry here fails
`test_every_route_has_an_entry`, unless it is listed in NOT_LIST_PAGES with the reason.
"""

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from responses.models import (
    BusinessEvent,
    Membership,
    ProviderClaim,
    Reply,
    ReplyRevision,
    ResponseTemplate,
    TeamInvitation,
    Ticket,
    TicketEvent,
)
from reviews.models import (
    Category,
    ConsumerAlert,
    HelpfulVote,
    Invitation,
    ModerationDecision,
    Provider,
    Report,
    Review,
    ReviewRevision,
)
from reviews.services.stats import provider_stats_recompute
from tests.factories import this_month
from tests.security.conftest import people, world  # noqa: F401 — fixtures, re-exported
from tests.security.test_authz_matrix import ALLAUTH_NAME, all_routes

QUERY_BUDGET = 12
SMALL = 10
LARGE = 1000
OUR_APPS = ("accounts", "reviews", "responses")


# --- rows, written straight to the tables ----------------------------------------------------
# What is counted is the page, not how the rows came to be: bulk inserts keep the module fast.
# Each builder adds rows numbered [start, stop), so growing from SMALL to LARGE adds the rest.
def _ago(i: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=i)


def _users(start, stop, prefix="bulk") -> list[User]:
    return User.objects.bulk_create(
        User(email=f"{prefix}{i}@example.com", display_name=f"Person {i:04}", password="!")
        for i in range(start, stop)
    )


def _reviews(providers, start, stop, *, statuses=("published",), author=None) -> list[Review]:
    """Reviews numbered [start, stop), taking turns over `providers` and `statuses`; each by
    a new person unless an `author` is given."""
    providers = providers if isinstance(providers, list) else [providers]
    if author is None:
        authors = _users(start, stop, f"r{providers[0].pk}-")
    else:
        authors = [author] * (stop - start)
    reviews = Review.objects.bulk_create(
        Review(
            provider=providers[i % len(providers)],
            author=who,
            rating=1 + i % 5,
            title=f"Bulk review {i:04}",
            body=f"Bulk review number {i}: the staff were kind and the wait was short enough.",
            visit_month=this_month(),
            status=statuses[i % len(statuses)],
            submitted_at=_ago(i),
            published_at=_ago(i) if statuses[i % len(statuses)] == "published" else None,
        )
        for i, who in zip(range(start, stop), authors, strict=True)
    )
    provider_stats_recompute(provider_ids=[p.pk for p in providers])
    return reviews


def _replies(reviews, responder, *, status="published") -> list[Reply]:
    return Reply.objects.bulk_create(
        Reply(
            review=review,
            provider_id=review.provider_id,
            responder=responder,
            responder_name=responder.display_name,
            responder_title="Owner",
            body=f"Bulk reply to {review.title}",
            status=status,
            submitted_at=review.published_at,
            published_at=review.published_at if status == "published" else None,
        )
        for review in reviews
    )


def _tickets(provider, start, stop, *, customer=None, reviews=None, **fields) -> list[Ticket]:
    customers = [customer] * (stop - start) if customer else _users(start, stop, "t-")
    reviews = reviews or [None] * (stop - start)
    return Ticket.objects.bulk_create(
        Ticket(
            provider=provider,
            customer=who,
            review=review,
            source="low_rating" if review else "private",
            subject=f"Bulk complaint {i:04}",
            created_at=_ago(i),
            first_response_due=_ago(i) + dt.timedelta(hours=48),
            resolution_due=_ago(i) + dt.timedelta(days=14),
            **fields,
        )
        for i, who, review in zip(range(start, stop), customers, reviews, strict=True)
    )


def _providers(w, start, stop) -> list[Provider]:
    return Provider.objects.bulk_create(
        Provider(
            name=f"Bulk provider {i:04}",
            slug=f"bulk-provider-{i:04}",
            category=w["provider"].category,
            town="Leeds",
        )
        for i in range(start, stop)
    )


# --- what each page lists --------------------------------------------------------------------
def grow_site(w, start, stop):
    """For pages that list nothing themselves: the site around them grows."""
    _providers(w, start, stop)
    _reviews(w["provider"], start, stop)


def grow_providers(w, start, stop):
    _providers(w, start, stop)


def grow_provider_reviews(w, start, stop):
    """Published reviews of the provider; some answered in public, some complaints."""
    reviews = _reviews(w["provider"], start, stop)
    _replies(reviews, w["owner"])
    _tickets(
        w["provider"],
        start,
        stop,
        reviews=reviews,
        change_made="We changed the rota.",
        change_made_at=timezone.now(),
    )


def grow_awaiting_reply(w, start, stop):
    """Published reviews of the provider that nobody has answered yet (the inbox)."""
    _reviews(w["provider"], start, stop)


def grow_my_reviews(w, start, stop):
    """The customer's own reviews in every state, each of a provider of its own: one person
    has one live review of a provider a year (PostgreSQL's exclusion constraint holds it)."""
    places = Provider.objects.bulk_create(
        Provider(
            name=f"Reviewed place {i:04}",
            slug=f"reviewed-place-{i:04}",
            category=w["provider"].category,
            town="Leeds",
        )
        for i in range(start, stop)
    )
    _reviews(
        places,
        start,
        stop,
        statuses=("published", "pending", "rejected"),
        author=w["customer"],
    )


def grow_my_data(w, start, stop):
    grow_my_reviews(w, start, stop)
    _tickets(w["other_provider"], start, stop, customer=w["customer"])
    HelpfulVote.objects.bulk_create(
        HelpfulVote(review=r, user=w["customer"])
        for r in _reviews(w["other_provider"], start, stop)
    )


def grow_my_tickets(w, start, stop):
    _tickets(w["other_provider"], start, stop, customer=w["customer"])


def grow_provider_tickets(w, start, stop):
    _tickets(w["provider"], start, stop, assignee=w["member"])


def grow_ticket_events(w, start, stop):
    TicketEvent.objects.bulk_create(
        TicketEvent(
            ticket=w["ticket"],
            actor=w["customer"] if i % 2 else w["owner"],
            actor_role="customer" if i % 2 else "member",
            kind="message",
            body=f"Bulk message {i:04}",
        )
        for i in range(start, stop)
    )


def grow_templates(w, start, stop):
    ResponseTemplate.objects.bulk_create(
        ResponseTemplate(
            provider=w["provider"],
            name=f"Bulk template {i:04}",
            body=f"Thank you for your review, number {i}.",
            updated_by=w["owner"],
        )
        for i in range(start, stop)
    )


def grow_team(w, start, stop):
    provider, owner = w["provider"], w["owner"]
    users = _users(start, stop, "team-")
    Membership.objects.bulk_create(
        Membership(provider=provider, user=u, role="responder", job_title=f"Bulk job {i:04}")
        for i, u in zip(range(start, stop), users, strict=True)
    )
    TeamInvitation.objects.bulk_create(
        TeamInvitation(
            provider=provider,
            email=f"colleague{i}@example.com",
            role="responder",
            invited_by=owner,
            expires_at=timezone.now() + dt.timedelta(days=14),
        )
        for i in range(start, stop)
    )
    BusinessEvent.objects.bulk_create(
        BusinessEvent(provider=provider, actor=owner, subject=u, kind="member_joined")
        for u in users
    )


def grow_invitations(w, start, stop):
    Invitation.objects.bulk_create(
        Invitation(
            provider=w["provider"],
            email=f"customer{i:04}@bulk.example",
            created_by=w["owner"],
            expires_at=timezone.now() + dt.timedelta(days=30 - i % 40),
            used_at=timezone.now() if i % 3 == 0 else None,
        )
        for i in range(start, stop)
    )


def grow_businesses(w, start, stop):
    """More businesses for the owner, each with a review waiting for a reply, and as many
    claims of others waiting for staff."""
    providers = _providers(w, start, stop)
    owned, claimed = providers[::2], providers[1::2]
    Membership.objects.bulk_create(
        Membership(provider=p, user=w["owner"], role="owner") for p in owned
    )
    ProviderClaim.objects.bulk_create(
        ProviderClaim(
            provider=p,
            user=w["owner"],
            role_at_business="Owner",
            work_email="owner@bulk.example",
            evidence="Named on the website.",
        )
        for p in claimed
    )
    Review.objects.bulk_create(
        Review(
            provider=p,
            author=w["customer"],
            rating=3,
            title=f"Review of {p.name}",
            body="Fine.",
            visit_month=this_month(),
            status="published",
            submitted_at=_ago(0),
            published_at=_ago(0),
        )
        for p in owned
    )


def grow_analytics(w, start, stop):
    """Reviews spread over two years, half of them answered, each with a complaint."""
    reviews = _reviews(w["provider"], start, stop)
    for i, review in zip(range(start, stop), reviews, strict=True):
        review.published_at = timezone.now() - dt.timedelta(days=i % 700)
    Review.objects.bulk_update(reviews, ["published_at"])
    _replies(reviews[::2], w["owner"])
    _tickets(w["provider"], start, stop, reviews=reviews)


def grow_categories(w, start, stop):
    Category.objects.bulk_create(
        Category(name=f"Bulk category {i:04}", slug=f"bulk-category-{i:04}")
        for i in range(start, stop)
    )


# --- the moderation desk -----------------------------------------------------------------------
def grow_pending_reviews(w, start, stop):
    _reviews(w["other_provider"], start, stop, statuses=("pending",))


def grow_revisions(w, start, stop):
    ReviewRevision.objects.bulk_create(
        ReviewRevision(
            review=r,
            rating=2,
            title=f"Bulk edit {i:04}",
            body="Edited: the wait was long.",
            visit_month=this_month(),
            submitted_at=_ago(i),
        )
        for i, r in zip(range(start, stop), _reviews(w["provider"], start, stop), strict=True)
    )


def grow_reports(w, start, stop):
    Report.objects.bulk_create(
        Report(review=r, reporter=u, reason="spam", detail=f"Bulk report {i:04}")
        for i, r, u in zip(
            range(start, stop),
            _reviews(w["provider"], start, stop),
            _users(start, stop, "reporter-"),
            strict=True,
        )
    )


def grow_decisions(w, start, stop):
    reviews = _reviews(w["provider"], start, stop)
    review_type = ContentType.objects.get_for_model(Review)
    ModerationDecision.objects.bulk_create(
        ModerationDecision(
            content_type=review_type,
            object_id=r.pk,
            review=r,
            moderator=w["moderator"],
            decision="approve" if i % 4 else "reject",
            reason="" if i % 4 else "advertising",
            note=f"Bulk decision {i:04}",
        )
        for i, r in zip(range(start, stop), reviews, strict=True)
    )


def grow_alerts(w, start, stop):
    now = timezone.now()
    ConsumerAlert.objects.bulk_create(
        ConsumerAlert(
            provider=p,
            reason=f"Bulk alert {i:04}: reviews were bought.",
            starts_at=now,
            ends_at=now + dt.timedelta(days=90),
            created_by=w["moderator"],
        )
        for i, p in zip(range(start, stop), _providers(w, start, stop), strict=True)
    )


def grow_claims(w, start, stop):
    ProviderClaim.objects.bulk_create(
        ProviderClaim(
            provider=w["other_provider"],
            user=u,
            role_at_business=f"Bulk role {i:04}",
            work_email=f"claimant{i}@bulk.example",
            evidence="Named on the staff page.",
        )
        for i, u in zip(range(start, stop), _users(start, stop, "claimant-"), strict=True)
    )


def grow_pending_replies(w, start, stop):
    _replies(_reviews(w["provider"], start, stop), w["owner"], status="pending")


def grow_reply_revisions(w, start, stop):
    replies = _replies(_reviews(w["provider"], start, stop), w["owner"])
    ReplyRevision.objects.bulk_create(
        ReplyRevision(
            reply=reply,
            body=f"Bulk reply edit {i:04}",
            submitted_by=w["owner"],
            submitted_at=_ago(i),
        )
        for i, reply in zip(range(start, stop), replies, strict=True)
    )


def grow_escalated(w, start, stop):
    _tickets(w["provider"], start, stop, status="escalated", escalated_at=timezone.now())


def grow_users(w, start, stop):
    _users(start, stop)


def grow_queues(w, start, stop):
    """A little of everything the desk's index counts."""
    grow_pending_reviews(w, start, stop)
    grow_decisions(w, start, stop)
    grow_escalated(w, start, stop)


# --- the table -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    url: str  # with {slug}, {review}, {ticket}, ... filled from the world
    role: str  # who sees the rows: "anonymous" or a key of the `people` fixture
    grow: Callable  # grow(world, start, stop) adds rows numbered [start, stop)
    shows: str  # text the page shows for each row (or, with rows=False, at least once)
    rows: bool = True
    page_cache: bool = False  # the anonymous provider page, through its cache (a miss)
    budget: int = QUERY_BUDGET  # more only with the reason written beside the entry
    xfail: str = ""  # a known problem in a file this suite may not change

    @property
    def route(self) -> str:
        """The route this URL resolves to (spelt without the "^" of a regex part)."""
        path = self.url.format_map(defaultdict(lambda: "1"))
        return resolve(path).route

    @property
    def api(self) -> bool:
        return self.url.startswith("/api/")


def once(url, role, shows, grow=grow_site, **kw) -> Page:
    """A page that lists none of the rows (a form, one object, a static page): `shows` is on
    it once, and its queries must not grow with the site around it."""
    return Page(url, role, grow, shows, rows=False, **kw)


def admin_list(model_path, role, grow, shows) -> Page:
    return Page(f"/admin/{model_path}/", role, grow, shows)


PAGES = [
    # public pages
    once("/", "anonymous", "How Heard works"),
    once("/health/", "anonymous", '"status": "ok"'),
    once("/reviews-policy/", "anonymous", "How reviews work on Heard"),
    once("/privacy/", "anonymous", "Privacy"),
    once("/stats/", "anonymous", "Published reviews"),
    once("/sitemap.xml", "anonymous", "/sitemap-providers.xml", grow_providers),
    once("/robots.txt", "anonymous", "Sitemap: http://testserver/sitemap.xml"),
    Page("/sitemap-providers.xml", "anonymous", grow_providers, "/providers/bulk-provider-"),
    Page("/providers/", "anonymous", grow_providers, "Bulk provider"),
    Page("/providers/{slug}/", "other_customer", grow_provider_reviews, "Bulk review"),
    Page("/providers/{slug}/", "anonymous", grow_provider_reviews, "Bulk review", page_cache=True),
    Page("/providers/{slug}/feed/", "anonymous", grow_provider_reviews, "Bulk review"),
    once("/providers/{slug}/badge.svg", "anonymous", "<svg", grow_provider_reviews),
    once("/providers/{slug}/review/", "other_customer", "Review Riverside Dental"),
    once("/providers/{slug}/claim/", "other_customer", "Riverside Dental"),
    once("/providers/{slug}/complain/", "other_customer", "Riverside Dental"),
    once("/reviews/{review}/", "anonymous", "Casey Customer", grow_provider_reviews),
    once("/reviews/{review}/submitted/", "customer", "Riverside Dental", grow_my_reviews),
    once("/reviews/{review}/report/", "other_customer", "Report"),
    # the customer's own pages
    Page("/accounts/reviews/", "customer", grow_my_reviews, "Bulk review"),
    once("/accounts/reviews/{review}/edit/", "customer", "Edit your review", grow_my_reviews),
    once("/accounts/reviews/{review}/withdraw/", "customer", "Riverside Dental", grow_my_reviews),
    Page("/accounts/tickets/", "customer", grow_my_tickets, "Bulk complaint"),
    once("/accounts/data/", "customer", "Reviews", grow_my_data),
    # One query for each of the 15 kinds of data Heard holds about a person
    # (accounts.selectors.account_data_export): constant, but over the budget.
    Page("/accounts/data/download/", "customer", grow_my_data, "Bulk review", budget=17),
    once("/accounts/data/delete/", "customer", "DELETE", grow_my_data),
    # tickets, from both sides
    Page("/tickets/{ticket}/", "customer", grow_ticket_events, "Bulk message"),
    Page("/tickets/{ticket}/", "owner", grow_ticket_events, "Bulk message"),
    Page("/tickets/{ticket}/", "owner", grow_team, "Person"),  # the team, to assign it to
    Page("/business/{slug}/tickets/", "owner", grow_provider_tickets, "Bulk complaint"),
    # the business dashboard
    Page("/business/", "owner", grow_businesses, "Bulk provider"),
    once("/business/analytics/", "owner", "Bulk provider", grow_businesses),
    Page("/business/{slug}/", "owner", grow_awaiting_reply, "Bulk review"),
    once("/business/{slug}/analytics/", "owner", "reviews in the period", grow_analytics),
    Page("/business/{slug}/reviews/{review}/reply/", "owner", grow_templates, "Bulk template"),
    Page("/business/{slug}/templates/", "owner", grow_templates, "Bulk template"),
    once("/business/{slug}/templates/new/", "owner", "Riverside Dental", grow_templates),
    once("/business/{slug}/templates/{template}/", "owner", "We are sorry", grow_templates),
    Page("/business/{slug}/team/", "owner", grow_team, "Bulk job"),
    once("/business/{slug}/team/invite/", "owner", "Riverside Dental", grow_team),
    once("/business/{slug}/team/{membership}/", "owner", "Rory Responder", grow_team),
    once("/business/{slug}/team/{membership}/remove/", "owner", "Rory Responder", grow_team),
    once("/business/join/{team_token}/", "other_customer", "Riverside Dental", grow_team),
    once("/business/{slug}/settings/", "owner", "Riverside Dental"),
    Page("/business/{slug}/invitations/", "owner", grow_invitations, "@bulk.example"),
    once("/business/{slug}/exports/", "owner", "Riverside Dental"),
    Page("/business/{slug}/exports/reviews.csv", "owner", grow_provider_reviews, "Bulk review"),
    Page("/business/{slug}/exports/replies.csv", "owner", grow_provider_reviews, "Bulk reply"),
    Page("/business/{slug}/exports/tickets.csv", "owner", grow_provider_reviews, "Bulk complaint"),
    # the API
    Page("/api/v1/categories/", "anonymous", grow_categories, "Bulk category"),
    Page("/api/v1/providers/", "anonymous", grow_providers, "Bulk provider"),
    once("/api/v1/providers/{slug}/", "anonymous", "Riverside Dental", grow_provider_reviews),
    Page("/api/v1/providers/{slug}/reviews/", "anonymous", grow_provider_reviews, "Bulk review"),
    once("/api/v1/reviews/{review}/", "anonymous", "Casey Customer", grow_provider_reviews),
    Page("/api/v1/tickets/", "customer", grow_my_tickets, "Bulk complaint"),
    Page("/api/v1/tickets/", "owner", grow_provider_tickets, "Bulk complaint"),
    Page("/api/v1/tickets/{ticket}/", "customer", grow_ticket_events, "Bulk message"),
    # the moderation desk: its index, every changelist of our apps, the decision log's CSV
    once("/admin/", "moderator", "Moderation desk", grow_queues),
    admin_list("reviews/pendingreview", "moderator", grow_pending_reviews, "Bulk review"),
    admin_list("reviews/pendingrevision", "moderator", grow_revisions, "<ins>Edited:</ins>"),
    admin_list("reviews/openreport", "moderator", grow_reports, "Bulk report"),
    admin_list("reviews/review", "moderator", grow_pending_reviews, "Bulk review"),
    admin_list("reviews/moderationdecision", "moderator", grow_decisions, "Bulk decision"),
    admin_list("reviews/moderationdecision/export", "moderator", grow_decisions, "Bulk decision"),
    admin_list("reviews/consumeralert", "superuser", grow_alerts, "Bulk provider"),
    admin_list("reviews/category", "superuser", grow_categories, "Bulk category"),
    admin_list("reviews/provider", "superuser", grow_providers, "Bulk provider"),
    admin_list("responses/pendingclaim", "moderator", grow_claims, "Bulk role"),
    admin_list("responses/providerclaim", "superuser", grow_claims, "Bulk role"),
    admin_list("responses/membership", "superuser", grow_team, "Bulk job"),
    admin_list("responses/businessevent", "superuser", grow_team, "Person"),
    admin_list("responses/pendingreply", "moderator", grow_pending_replies, "Bulk reply"),
    admin_list("responses/pendingreplyrevision", "moderator", grow_reply_revisions, "<ins>edit"),
    admin_list("responses/reply", "superuser", grow_pending_replies, "Bulk review"),
    admin_list("responses/escalatedticket", "moderator", grow_escalated, "Bulk complaint"),
    admin_list("responses/ticket", "superuser", grow_provider_tickets, "Bulk complaint"),
    admin_list("responses/ticketevent", "superuser", grow_ticket_events, "Bulk message"),
    admin_list("accounts/user", "superuser", grow_users, "Person"),
]

# Routes that are not a page of rows a GET can reach, each with the reason.
NOT_LIST_PAGES = {
    "reviews/<int:pk>/helpful/": "POST only (a vote)",
    "business/<slug:slug>/reviews/<int:review_id>/reply/withdraw/": "POST only",
    "business/<slug:slug>/templates/<int:template_id>/delete/": "POST only",
    "business/<slug:slug>/team/invitations/<int:invitation_id>/revoke/": (
        "POST only; a GET redirects to the team page"
    ),
    "invite/<str:token>/": "redirects to the review form (or explains a spent link)",
    "favicon.ico": "redirects to the static icon",
    "api/v1/auth/token/": "POST only",
    "api/v1/^reviews/$": "POST only (GET is 405)",
    "api/v1/^reviews/(?P<pk>\\d+)/helpful/$": "POST and DELETE only",
    "api/v1/^reviews/(?P<pk>\\d+)/reply/$": "POST only",
    "api/v1/^reviews/(?P<pk>\\d+)/reports/$": "POST only",
    "api/v1/business/providers/<slug:slug>/invitations/": "POST only",
    "api/v1/^tickets/(?P<pk>\\d+)/messages/$": "POST only",
    "api/v1/^tickets/(?P<pk>\\d+)/transition/$": "POST only",
    "api/schema/": "the OpenAPI schema, generated from the code: no rows",
    "api/docs/": "Swagger UI, a static page that loads the schema",
    "admin/login/": "redirects to the site's sign-in page",
    "admin/logout/": "POST only",
    "admin/password_change/": "Django's own form",
    "admin/password_change/done/": "Django's own page",
    "admin/autocomplete/": "JSON for a search box, paginated by Django",
    "admin/jsi18n/": "the admin's JavaScript catalogue",
    "admin/r/<path:content_type_id>/<path:object_id>/": "redirects to the object on the site",
    "admin/(?P<url>.*)$": "the admin's catch-all (a 404 or a redirect)",
}
ADMIN_APP_INDEX = re.compile(r"^admin/\^\(\?P<app_label>")
ADMIN_ONE_OBJECT = re.compile(r"(add/|<path:object_id>/(\w+/)?|<id>/password/)$")


def _resolver_spelling(route: str) -> str:
    """A route from get_resolver() as a ResolverMatch spells it (regex parts lose their "^")."""
    return route.replace("/^", "/")


def not_a_list_page(route: str, pattern) -> str:
    """Why this route needs no entry ("" when it needs one)."""
    if route in NOT_LIST_PAGES:
        return NOT_LIST_PAGES[route]
    if ALLAUTH_NAME.match(pattern.name or ""):
        return "allauth's own pages (sign-in, sessions, two-factor)"
    if route.startswith("admin/"):
        if ADMIN_APP_INDEX.match(route):
            return "an app's index lists its models, not rows"
        if route.split("/")[1] not in OUR_APPS:
            return "the admin of a third-party app"
        if ADMIN_ONE_OBJECT.search(route):
            return "one object's form, history or confirmation"
    return ""


def test_every_route_has_an_entry():
    covered = {page.route for page in PAGES}
    routes = all_routes()
    missing = [
        route
        for route, _group, pattern in routes
        if _resolver_spelling(route) not in covered and not not_a_list_page(route, pattern)
    ]
    assert not missing, "GET pages with no query-count entry: " + ", ".join(missing)
    stale = set(NOT_LIST_PAGES) - {route for route, _group, _pattern in routes}
    assert not stale, f"NOT_LIST_PAGES names routes that no longer exist: {sorted(stale)}"


# --- running one entry -----------------------------------------------------------------------
def _fill(url: str, w: dict) -> str:
    return url.format(
        slug=w["provider"].slug,
        review=w["review"].pk,
        ticket=w["ticket"].pk,
        template=w["template"].pk,
        membership=w["responder_membership"].pk,
        team_token=w["team_invitation"].token,
    )


def _client(page: Page, w: dict):
    client = APIClient() if page.api else Client()
    if page.role != "anonymous":
        client.force_login(w[page.role])
    return client


def _measure(client, url):
    """(response, text, queries) for a request on a cold shared cache."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        # A streamed response (a CSV export) runs its queries as it is read.
        content = b"".join(response.streaming_content) if response.streaming else response.content
    return response, content.decode(), [q["sql"] for q in queries.captured_queries]


def _shape(sql: str) -> str:
    """The query without its values, so that the same query for another row matches."""
    sql = re.sub(r"'[^']*'", "?", sql)
    sql = re.sub(r"\b\d+\b", "N", sql)
    return re.sub(r"IN \((N, )*N\)", "IN (...)", sql)


def _repeated(small: list[str], large: list[str]) -> str:
    extra = Counter(map(_shape, large))
    extra.subtract(Counter(map(_shape, small)))
    return "\n".join(f"{n:+d} × {sql}" for sql, n in extra.items() if n)


def _listing(queries: list[str]) -> str:
    return "\n".join(f"  {i}. {sql}" for i, sql in enumerate(queries, start=1))


CASES = [
    pytest.param(
        page,
        id=f"{page.role} {page.url} {page.grow.__name__}",
        marks=[pytest.mark.xfail(strict=True, reason=page.xfail)] if page.xfail else [],
    )
    for page in PAGES
]


@pytest.mark.django_db
@pytest.mark.parametrize("entry", CASES)
def test_queries_do_not_grow_with_rows(people, entry, settings):  # noqa: F811 — the fixture
    settings.PROVIDER_PAGE_CACHE = entry.page_cache
    url = _fill(entry.url, people)
    client = _client(entry, people)
    client.get(url)  # per-process caches (content types, the site) warm, as in production
    counts, captured, start = [], [], 0
    for size in (SMALL, LARGE):
        entry.grow(people, start, size)
        start = size
        response, text, queries = _measure(client, url)
        assert response.status_code == 200, f"{url} as {entry.role}: {response.status_code}"
        if entry.page_cache:
            assert response["X-Page-Cache"] == "miss"
        shown = text.count(entry.shows)
        assert shown >= (SMALL if entry.rows else 1), f"{url}, {size} rows: {shown} × {entry.shows}"
        counts.append(len(queries))
        captured.append(queries)
    assert counts[0] == counts[1], (
        f"{url}: {counts[0]} queries for {SMALL} rows, {counts[1]} for {LARGE}:\n"
        + _repeated(*captured)
    )
    assert counts[0] <= entry.budget, (
        f"{url}: {counts[0]} queries, more than {entry.budget}:\n" + _listing(captured[0])
    )
