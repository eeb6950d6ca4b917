"""The anonymous provider page is served from the shared cache, and whatever changes what it
shows is visible on the very next anonymous request (the services move the page's version on
when they commit)."""

import datetime as dt

import pytest
from django.core.cache import cache

from responses.models import TicketStatus
from responses.services.replies import reply_moderate, reply_submit
from responses.services.tickets import ticket_open, ticket_record_change, ticket_transition
from reviews.services import review_vote_helpful
from reviews.services.alerts import consumer_alert_place
from reviews.services.directory import provider_save
from reviews.services.engagement import review_report
from reviews.services.moderation import report_decide
from tests.factories import (
    MembershipFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    settings.PROVIDER_PAGE_CACHE = True
    settings.PROVIDER_PARTS_CACHE = True
    cache.clear()


@pytest.fixture
def provider():
    return ProviderFactory(name="Riverside Dental", slug="riverside-dental")


@pytest.fixture
def moderator():
    return ModeratorFactory()


def _page(client, url="/providers/riverside-dental/"):
    response = client.get(url)
    assert response.status_code == 200
    return response


def test_a_second_anonymous_request_is_served_from_the_cache(client, provider, moderator):
    publish(ReviewFactory(provider=provider, title="Kind and quick"), moderator)
    first = _page(client)
    second = _page(client)
    assert first["X-Page-Cache"] == "miss" and second["X-Page-Cache"] == "hit"
    assert "Kind and quick" in second.content.decode()
    # every response carries its own CSP nonce, and the page's scripts use that one
    nonce_of = lambda r: r["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]  # noqa: E731
    assert nonce_of(first) != nonce_of(second)
    assert f'nonce="{nonce_of(second)}"' in second.content.decode()
    assert f'nonce="{nonce_of(first)}"' not in second.content.decode()
    # other orderings and filters are pages of their own
    assert _page(client, "/providers/riverside-dental/?sort=-rating")["X-Page-Cache"] == "miss"


def test_publishing_a_review_shows_on_the_next_request(client, provider, moderator):
    _page(client)
    publish(ReviewFactory(provider=provider, title="Brand new review"), moderator)
    response = _page(client)
    assert response["X-Page-Cache"] == "miss"
    assert "Brand new review" in response.content.decode()


def test_a_published_reply_shows_on_the_next_request(client, provider, moderator):
    review = publish(ReviewFactory(provider=provider), moderator)
    owner = MembershipFactory(provider=provider, role="owner").user
    _page(client)
    reply = reply_submit(review=review, actor=owner, body="Thank you, we are glad it went well.")
    assert "we are glad it went well" not in _page(client).content.decode()  # still moderated
    reply_moderate(reply=reply, moderator=moderator, decision="approve")
    assert "we are glad it went well" in _page(client).content.decode()


def test_a_ticket_outcome_shows_on_the_next_request(client, provider, moderator):
    review = publish(ReviewFactory(provider=provider, rating=1), moderator)
    owner = MembershipFactory(provider=provider, role="owner").user
    ticket = ticket_open(
        provider=provider,
        customer=review.author,
        source="low_rating",
        subject=review.title,
        message=review.body,
        review=review,
    )
    _page(client)
    ticket_transition(ticket=ticket, to=TicketStatus.ACKNOWLEDGED, actor=owner)
    ticket_record_change(ticket=ticket, actor=owner, text="We now answer the phone at 8am.")
    assert "We now answer the phone at 8am." in _page(client).content.decode()


def test_moderation_decisions_show_on_the_next_request(client, provider, moderator):
    review = publish(
        ReviewFactory(provider=provider, body="A review someone will report."), moderator
    )
    _page(client)
    report = review_report(review=review, reporter=UserFactory(), reason="offensive")
    assert "A review someone will report." in _page(client).content.decode()
    report_decide(report=report, moderator=moderator, decision="uphold", reason="offensive")
    assert "A review someone will report." not in _page(client).content.decode()


def test_votes_and_consumer_alerts_show_on_the_next_request(client, provider, moderator):
    review = publish(ReviewFactory(provider=provider), moderator)
    _page(client)
    review_vote_helpful(review=review, user=UserFactory())
    assert "1 person found this helpful" in _page(client).content.decode()
    consumer_alert_place(
        provider=provider,
        staff=moderator,
        reason="We found reviews written by the owner's family, posing as customers.",
    )
    assert "posing as customers" in _page(client).content.decode()


def test_signed_in_visitors_always_see_their_own_page(client, provider, moderator):
    review = publish(ReviewFactory(provider=provider), moderator)
    _page(client)  # cached for anonymous visitors
    voter = UserFactory()
    client.force_login(voter)
    response = _page(client)
    assert "X-Page-Cache" not in response
    assert 'aria-pressed="false"' in response.content.decode()  # their own vote button
    review_vote_helpful(review=review, user=voter)
    assert 'aria-pressed="true"' in _page(client).content.decode()


def test_a_cached_page_costs_no_query_and_still_404s_once_the_provider_goes(
    client, provider, moderator, django_assert_max_num_queries
):
    publish(ReviewFactory(provider=provider), moderator)
    _page(client)
    with django_assert_max_num_queries(0):  # one cache round trip, no query at all
        assert _page(client)["X-Page-Cache"] == "hit"
    provider.is_active = False
    provider_save(provider=provider, actor=UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/providers/riverside-dental/").status_code == 404


def test_nothing_is_cached_when_the_switch_is_off(client, provider, settings):
    settings.PROVIDER_PAGE_CACHE = False
    _page(client)
    assert "X-Page-Cache" not in _page(client)


def test_signed_in_visitors_get_fresh_parts_after_a_change(client, provider, moderator):
    """The slow-changing parts (figures, alerts, "You said, we did") are cached for
    signed-in visitors too, and a service's change replaces them at once."""
    review = publish(ReviewFactory(provider=provider, rating=1), moderator)
    owner = MembershipFactory(provider=provider, role="owner").user
    client.force_login(UserFactory())
    assert "You said, we did" not in _page(client).content.decode()
    ticket = ticket_open(
        provider=provider,
        customer=review.author,
        source="low_rating",
        subject=review.title,
        message=review.body,
        review=review,
    )
    ticket_transition(ticket=ticket, to=TicketStatus.ACKNOWLEDGED, actor=owner)
    ticket_record_change(ticket=ticket, actor=owner, text="Reception now opens at 8am.")
    page = _page(client).content.decode()
    assert "You said, we did" in page and "Reception now opens at 8am." in page


def test_a_consumer_alert_leaves_the_cached_page_when_it_ends(
    client, provider, moderator, time_machine
):
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    alert = consumer_alert_place(
        provider=provider,
        staff=moderator,
        reason="We found reviews written by the owner's family, posing as customers.",
    )
    assert "posing as customers" in _page(client).content.decode()
    time_machine.move_to(alert.ends_at - dt.timedelta(seconds=1), tick=False)
    assert "posing as customers" in _page(client).content.decode()
    time_machine.move_to(alert.ends_at, tick=False)
    cache.clear()  # the whole page's own minute has passed as well (locmem keeps real time)
    client.force_login(UserFactory())  # and the signed-in page, whose parts are cached
    assert "posing as customers" not in _page(client).content.decode()


def test_other_query_parameters_are_answered_but_not_stored(client, provider):
    for _ in range(2):
        response = _page(client, "/providers/riverside-dental/?utm_source=newsletter")
        assert "X-Page-Cache" not in response


def test_each_host_has_its_own_page(client, provider):
    first = _page(client)
    other = client.get("/providers/riverside-dental/", HTTP_HOST="localhost")
    assert other["X-Page-Cache"] == "miss"
    assert 'href="http://localhost/providers/riverside-dental/"' in other.content.decode()
    assert first["X-Page-Cache"] == "miss"


def test_a_change_committed_while_the_page_is_built_is_not_hidden(
    client, provider, moderator, monkeypatch
):
    """The page is stored under the version read before it was built: a change that commits
    in between leaves the stored page unused, so the next visitor sees the change."""
    from reviews import views

    real = views.selectors.provider_get_public

    def changed_meanwhile(**kwargs):
        found = real(**kwargs)
        publish(ReviewFactory(provider=provider, title="Written meanwhile"), moderator)
        return found

    monkeypatch.setattr(views.selectors, "provider_get_public", changed_meanwhile)
    _page(client)
    monkeypatch.setattr(views.selectors, "provider_get_public", real)
    response = _page(client)
    assert response["X-Page-Cache"] == "miss"
    assert "Written meanwhile" in response.content.decode()


def test_staff_edits_in_the_admin_refresh_the_page_and_a_renamed_page_moves(client, provider):
    _page(client)
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin_client = type(client)()
    admin_client.force_login(staff)
    url = f"/admin/reviews/provider/{provider.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(name="Riverside Dental Care", slug="riverside-dental-care")
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert client.get("/providers/riverside-dental/").status_code == 404
    assert (
        "Riverside Dental Care"
        in _page(client, "/providers/riverside-dental-care/").content.decode()
    )


def test_the_cached_provider_follows_its_figures_and_its_listing(client, provider, moderator):
    """The provider's row is cached against its version too (signed-in visitors included):
    new figures show at once, and an unlisted provider is a 404 at once."""
    client.force_login(UserFactory())
    assert "No reviews yet" in _page(client).content.decode()
    publish(ReviewFactory(provider=provider, rating=5), moderator)
    assert "from 1 checked review" in _page(client).content.decode()
    provider.is_active = False
    provider_save(provider=provider, actor=UserFactory(is_superuser=True, is_staff=True))
    assert client.get("/providers/riverside-dental/").status_code == 404
    assert client.get("/api/v1/providers/riverside-dental/").status_code == 404


def test_the_badge_follows_the_figures_at_once(client, provider, moderator):
    badge = "/providers/riverside-dental/badge.svg"
    assert "no reviews yet" in client.get(badge).content.decode()
    publish(ReviewFactory(provider=provider, rating=4), moderator)
    assert "from 1 review" in client.get(badge).content.decode()


def test_with_more_languages_each_has_its_own_cached_page(client, provider, settings):
    settings.LANGUAGES = [("en-gb", "English (UK)"), ("cy", "Welsh")]
    first = _page(client, "/providers/riverside-dental/")
    again = client.get("/providers/riverside-dental/", HTTP_ACCEPT_LANGUAGE="cy")
    assert first["X-Page-Cache"] == "miss" and again["X-Page-Cache"] == "miss"
    assert client.get("/providers/riverside-dental/")["X-Page-Cache"] == "hit"
