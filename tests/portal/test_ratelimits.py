"""Rate limits on every write a script would repeat: the (n+1)th attempt in the window is refused
(HTML: a 429 with the form shown again, what was typed kept and how long to wait; API: 429 with
Retry-After), nothing is written, and a made-up X-Forwarded-For changes nothing. Behind a
trusted proxy (TRUSTED_PROXY_COUNT=1) the proxy's right-most entry is the client."""

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from portal.ratelimits import DEFAULT_RATE_LIMITS
from responses.models import Membership, ProviderClaim, Role, TeamInvitation, Ticket, TicketEvent
from responses.services.tickets import ticket_open
from reviews.models import HelpfulVote, Invitation, Report, Review
from reviews.services import visit_month_bounds
from tests.factories import ProviderFactory, ReviewFactory, UserFactory, publish, this_month

pytestmark = pytest.mark.django_db

LIMIT = 2
TYPED = "Typed-by-hand text that must survive a refusal"
_spoofed = (f"203.0.113.{n % 250}" for n in itertools.count(1))


@dataclass
class Attempts:
    """How to make the i-th attempt at one action, and what it writes."""

    post: Callable[[int, dict], object]  # (i, extra request headers) -> response
    model: type[Model]
    typed: str | None  # shown again in the form after a refusal (None: no form to keep)


def _signed_in(client, user=None):
    user = user or UserFactory()
    client.force_login(user)
    return user


def _published_reviews(n):
    provider = ProviderFactory()
    return [publish(ReviewFactory(provider=provider)) for _ in range(n)]


def review_submit(client):
    _signed_in(client)
    providers = [ProviderFactory() for _ in range(LIMIT + 2)]
    data = {
        "rating": "4",
        "title": "On time and friendly",
        "body": f"{TYPED}. The appointment started on time and I was well looked after.",
        "visit_month": visit_month_bounds()[1].isoformat(),
    }
    return Attempts(
        post=lambda i, h: client.post(f"/providers/{providers[i].slug}/review/", data, **h),
        model=Review,
        typed=TYPED,
    )


def report(client):
    _signed_in(client)
    reviews = _published_reviews(LIMIT + 2)
    return Attempts(
        post=lambda i, h: client.post(
            f"/reviews/{reviews[i].pk}/report/", {"reason": "spam", "detail": TYPED}, **h
        ),
        model=Report,
        typed=TYPED,
    )


def vote(client):
    _signed_in(client)
    reviews = _published_reviews(LIMIT + 2)
    return Attempts(
        post=lambda i, h: client.post(f"/reviews/{reviews[i].pk}/helpful/", **h),
        model=HelpfulVote,
        typed=None,
    )


def claim(client):
    _signed_in(client)
    providers = [ProviderFactory() for _ in range(LIMIT + 2)]
    data = {
        "role_at_business": "Practice manager",
        "work_email": "jo.bloggs@greenlane.example",
        "evidence": f"{TYPED}: I am named on greenlane.example/team.",
    }
    return Attempts(
        post=lambda i, h: client.post(f"/providers/{providers[i].slug}/claim/", data, **h),
        model=ProviderClaim,
        typed=TYPED,
    )


def _owner(client):
    provider = ProviderFactory()
    Membership.objects.create(provider=provider, user=_signed_in(client), role=Role.OWNER)
    return provider


def customer_invite(client):
    provider = _owner(client)
    return Attempts(
        post=lambda i, h: client.post(
            f"/business/{provider.slug}/invitations/",
            {"addresses": f"typed-customer-{i}@example.com"},
            **h,
        ),
        model=Invitation,
        typed="typed-customer-",
    )


def customer_invite_link(client):
    provider = _owner(client)
    return Attempts(
        post=lambda i, h: client.post(
            f"/business/{provider.slug}/invitations/", {"create_link": "1"}, **h
        ),
        model=Invitation,
        typed=None,
    )


def team_invite(client):
    provider = _owner(client)
    return Attempts(
        post=lambda i, h: client.post(
            f"/business/{provider.slug}/team/invite/",
            {"email": f"typed-colleague-{i}@example.com", "role": "responder"},
            **h,
        ),
        model=TeamInvitation,
        typed="typed-colleague-",
    )


def ticket_message(client):
    customer = _signed_in(client)
    ticket = ticket_open(
        provider=ProviderFactory(),
        customer=customer,
        source="private",
        subject="Wrong medicine",
        message="I was given the wrong strength of my usual prescription.",
    )
    return Attempts(
        post=lambda i, h: client.post(
            f"/tickets/{ticket.pk}/", {"action": "message", "message-body": f"{TYPED} {i}"}, **h
        ),
        model=TicketEvent,
        typed=TYPED,
    )


def complaint(client):
    _signed_in(client)
    providers = [ProviderFactory() for _ in range(LIMIT + 2)]
    return Attempts(
        post=lambda i, h: client.post(
            f"/providers/{providers[i].slug}/complain/",
            {"subject": "Prescription not ready", "message": TYPED},
            **h,
        ),
        model=Ticket,
        typed=TYPED,
    )


HTML_CASES = {
    "review_submit": review_submit,
    "report": report,
    "vote": vote,
    "claim": claim,
    "customer_invite": customer_invite,
    "customer_invite_link": customer_invite_link,
    "team_invite": team_invite,
    "ticket_message": ticket_message,
    "complaint": complaint,
}
ACTION = {"customer_invite_link": "customer_invite"}


def _limit(settings, case, rates):
    settings.HEARD_RATE_LIMITS = {ACTION.get(case, case): rates}


def _assert_refused(response, attempts, before):
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    body = response.content.decode()
    assert "too many times in a short while" in body
    assert "Please wait" in body and "minutes" in body  # an hour's window: minutes, not seconds
    if attempts.typed:
        assert attempts.typed in body  # what was typed is still in the form
    assert attempts.model.objects.count() == before  # nothing written


def test_every_html_action_has_a_default_limit():
    assert set(DEFAULT_RATE_LIMITS) == {ACTION.get(case, case) for case in HTML_CASES}
    for rates in DEFAULT_RATE_LIMITS.values():
        assert {part.rsplit("/", 1)[1] for part in rates.split(",")} == {"user", "ip"}


@pytest.mark.parametrize("case", sorted(HTML_CASES))
def test_the_attempt_after_the_per_account_limit_is_refused_and_writes_nothing(
    client, settings, case
):
    _limit(settings, case, f"{LIMIT}/h/user,100/h/ip")
    attempts = HTML_CASES[case](client)
    for i in range(LIMIT):
        response = attempts.post(i, {})
        assert response.status_code in (200, 302), response.content.decode()[:2000]
    before = attempts.model.objects.count()
    assert before > 0
    _assert_refused(attempts.post(LIMIT, {}), attempts, before)


@pytest.mark.parametrize("case", sorted(HTML_CASES))
def test_a_rotating_spoofed_x_forwarded_for_gets_no_fresh_allowance(client, settings, case):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    _limit(settings, case, f"{LIMIT}/h/ip")
    attempts = HTML_CASES[case](client)
    for i in range(LIMIT):
        response = attempts.post(i, {"HTTP_X_FORWARDED_FOR": next(_spoofed)})
        assert response.status_code in (200, 302)
    before = attempts.model.objects.count()
    _assert_refused(
        attempts.post(LIMIT, {"HTTP_X_FORWARDED_FOR": next(_spoofed)}), attempts, before
    )


def test_a_refused_form_can_be_sent_once_the_window_has_passed(client, settings, time_machine):
    time_machine.move_to("2026-03-02 10:00:00+00:00", tick=False)
    _limit(settings, "complaint", "1/h/user")
    attempts = complaint(client)
    assert attempts.post(0, {}).status_code == 302
    refused = attempts.post(1, {})
    assert refused.status_code == 429 and refused["Retry-After"] == "3600"
    assert "Please wait 60 minutes" in refused.content.decode()
    time_machine.move_to("2026-03-02 11:00:01+00:00", tick=False)
    assert attempts.post(1, {}).status_code == 302


def test_invalid_forms_do_not_use_up_the_allowance(client, settings):
    _limit(settings, "complaint", "1/h/user")
    attempts = complaint(client)
    for _ in range(3):
        assert client.post(f"/providers/{ProviderFactory().slug}/complain/", {}).status_code == 200
    assert attempts.post(0, {}).status_code == 302


def test_a_refusal_by_the_address_limit_does_not_use_up_the_account_allowance(client, settings):
    _limit(settings, "complaint", "2/h/user,1/h/ip")
    attempts = complaint(client)
    assert attempts.post(0, {}).status_code == 302
    assert attempts.post(1, {}).status_code == 429  # the address is full, not the account
    # From another address the account still has its second attempt.
    assert attempts.post(1, {"REMOTE_ADDR": "198.51.100.9"}).status_code == 302


# --- behind our proxy: the right-most X-Forwarded-For entry is the client ------------------------
def test_behind_one_trusted_proxy_each_real_client_has_its_own_bucket(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    _limit(settings, "review_submit", "1/h/ip")
    attempts = review_submit(client)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}  # every request arrives from the proxy
    first = attempts.post(0, {**proxy, "HTTP_X_FORWARDED_FOR": "192.0.2.10"})
    assert first.status_code == 302
    # The same client, with a made-up entry on the left: still the same client.
    again = attempts.post(1, {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.7, 192.0.2.10"})
    assert again.status_code == 429
    # Another real client behind the same proxy has its own allowance.
    other = attempts.post(1, {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.7, 192.0.2.20"})
    assert other.status_code == 302


# --- API ---------------------------------------------------------------------------------------
def _api_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def _api(user=None):
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def api_review_submit(each_user: bool):
    providers = [ProviderFactory() for _ in range(LIMIT + 2)]
    author = UserFactory()

    def post(i, h):
        data = {
            "provider": providers[i].slug,
            "rating": 4,
            "title": "On time",
            "body": "The appointment started on time and I was well looked after.",
            "visit_date": this_month().isoformat(),
        }
        return _api(UserFactory() if each_user else author).post(
            "/api/v1/reviews/", data, format="json", **h
        )

    return post, Review


def api_report(each_user: bool):
    reviews, reporter = _published_reviews(LIMIT + 2), UserFactory()
    return (
        lambda i, h: _api(UserFactory() if each_user else reporter).post(
            f"/api/v1/reviews/{reviews[i].pk}/reports/", {"reason": "spam"}, format="json", **h
        ),
        Report,
    )


def api_vote(each_user: bool):
    reviews, voter = _published_reviews(LIMIT + 2), UserFactory()
    return (
        lambda i, h: _api(UserFactory() if each_user else voter).post(
            f"/api/v1/reviews/{reviews[i].pk}/helpful/", **h
        ),
        HelpfulVote,
    )


def api_ticket_message(each_user: bool):
    customer = UserFactory()
    ticket = ticket_open(
        provider=ProviderFactory(),
        customer=customer,
        source="private",
        subject="Billing mistake",
        message="I was charged twice for one appointment.",
    )
    return (
        lambda i, h: _api(customer).post(
            f"/api/v1/tickets/{ticket.pk}/messages/",
            {"body": f"Any news on this? ({i})"},
            format="json",
            **h,
        ),
        TicketEvent,
    )


def api_invitations(each_user: bool):
    provider = ProviderFactory()
    owner = UserFactory()
    Membership.objects.create(provider=provider, user=owner, role=Role.OWNER)
    return (
        lambda i, h: _api(owner).post(
            f"/api/v1/business/providers/{provider.slug}/invitations/",
            {"emails": [f"customer{i}@example.org"]},
            format="json",
            **h,
        ),
        Invitation,
    )


API_CASES = {
    # scope: (attempts, one account for every attempt?)
    "review_submit_user": api_review_submit,
    "review_submit_ip": api_review_submit,
    "reports": api_report,
    "votes": api_vote,
    "ticket_messages": api_ticket_message,
    "invitations": api_invitations,
}
PER_IP_SCOPES = {"review_submit_ip"}


@pytest.mark.parametrize("scope", sorted(API_CASES))
def test_api_answers_429_with_retry_after_whatever_x_forwarded_for_says(settings, scope):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    _api_rates(settings, **{scope: f"{LIMIT}/hour"})
    post, model = API_CASES[scope](scope in PER_IP_SCOPES)
    for i in range(LIMIT):
        response = post(i, {"HTTP_X_FORWARDED_FOR": next(_spoofed)})
        assert response.status_code in (200, 201), response.content
    before = model.objects.count()
    refused = post(LIMIT, {"HTTP_X_FORWARDED_FOR": next(_spoofed)})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert model.objects.count() == before


def test_api_anonymous_reads_ignore_a_rotating_x_forwarded_for(settings):
    _api_rates(settings, anon=f"{LIMIT}/minute")
    statuses = [
        _api().get("/api/v1/categories/", HTTP_X_FORWARDED_FOR=next(_spoofed)).status_code
        for _ in range(LIMIT + 1)
    ]
    assert statuses == [200] * LIMIT + [429]


def test_api_token_requests_ignore_a_rotating_x_forwarded_for(settings):
    _api_rates(settings, token=f"{LIMIT}/minute")
    statuses = [
        _api()
        .post(
            "/api/v1/auth/token/",
            {"email": f"nobody{i}@example.com", "password": "x"},
            format="json",
            HTTP_X_FORWARDED_FOR=next(_spoofed),
        )
        .status_code
        for i in range(LIMIT + 1)
    ]
    assert statuses == [400] * LIMIT + [429]


def test_api_behind_one_trusted_proxy_counts_each_real_client_apart(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    _api_rates(settings, review_submit_ip="1/hour")
    post, _model = api_review_submit(each_user=True)
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    assert post(0, {**proxy, "HTTP_X_FORWARDED_FOR": "192.0.2.10"}).status_code == 201
    spoofed = post(1, {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.7, 192.0.2.10"})
    assert spoofed.status_code == 429
    other = post(1, {**proxy, "HTTP_X_FORWARDED_FOR": "203.0.113.7, 192.0.2.20"})
    assert other.status_code == 201


def test_a_request_without_any_address_shares_one_bucket_rather_than_failing(rf):
    from portal.ratelimits import client_ip

    request = rf.get("/api/v1/categories/")
    del request.META["REMOTE_ADDR"]
    assert client_ip(request) == "unknown"
    assert client_ip(rf.get("/", REMOTE_ADDR="2001:db8::1")) == "2001:db8::"  # per /64
