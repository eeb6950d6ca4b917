"""The customer's pages: directory, provider page, one review, writing and managing reviews."""

import datetime as dt

import pytest
from django.utils import timezone

from reviews.models import HelpfulVote, Report, Review, ReviewRevision
from reviews.services import add_months, visit_month_bounds
from tests.factories import (
    AspectQuestionFactory,
    CategoryFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)

pytestmark = pytest.mark.django_db

XSS = "</script><script>alert(1)</script>"


@pytest.fixture
def dentists():
    category = CategoryFactory(name="Dentists", slug="dentists")
    AspectQuestionFactory(category=category, code="dignity", text="Treated with dignity")
    return category


@pytest.fixture
def provider(dentists):
    return ProviderFactory(name="Smile Dental Practice", slug="smile-dental", category=dentists)


def _published(provider, n, moderator, **kwargs):
    reviews = ReviewFactory.create_batch(n, provider=provider, **kwargs)
    for review in reviews:
        publish(review, moderator)
    return reviews


def _form(**changes):
    data = {
        "rating": "2",
        "title": "Long wait, kind staff",
        "body": "I waited over an hour past my appointment time, but the nurse was kind.",
        "visit_month": visit_month_bounds()[1].isoformat(),
        "would_recommend": "no",
        "aspect_dignity": "4",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- directory ---------------------------------------------------------------------------
def test_directory_searches_and_filters(client, dentists, moderator):
    smile = ProviderFactory(name="Smile Dental Practice", category=dentists, town="Leeds")
    ProviderFactory(name="Elms Medical Centre", town="York")
    _published(smile, 2, moderator, rating=5)
    body = client.get("/providers/", {"q": "dent"}).content.decode()
    assert "Smile Dental Practice" in body
    assert "Elms Medical Centre" not in body
    assert "1 provider found" in body
    body = client.get("/providers/", {"town": "york"}).content.decode()
    assert "Elms Medical Centre" in body and "Smile Dental" not in body
    body = client.get("/providers/", {"min_rating": "4"}).content.decode()
    assert "Smile Dental" in body and "Elms" not in body
    body = client.get("/providers/", {"category": "dentists"}).content.decode()
    assert "Smile Dental" in body and "Elms" not in body


def test_directory_shows_a_helpful_empty_state(client, db):
    body = client.get("/providers/", {"q": "nothing-matches-this"}).content.decode()
    assert "No providers match your search." in body


def test_directory_bad_filter_values_do_not_break_the_page(client, provider):
    response = client.get("/providers/", {"min_rating": "abc", "category": "nope", "page": "x"})
    assert response.status_code == 200


@pytest.mark.parametrize("count", [5, 60])
def test_directory_runs_a_constant_number_of_queries(
    client, dentists, count, django_assert_max_num_queries
):
    ProviderFactory.create_batch(count, category=dentists)
    with django_assert_max_num_queries(6):
        response = client.get("/providers/")
    assert response.status_code == 200


# --- provider page --------------------------------------------------------------------------
def test_provider_page_shows_figures_and_reviews(client, provider, moderator):
    _published(provider, 3, moderator, rating=5, aspects={"dignity": 4}, would_recommend=True)
    _published(provider, 1, moderator, rating=1, source="invited", would_recommend=False)
    ReviewFactory(provider=provider, title="Still pending")
    body = client.get(provider.get_absolute_url()).content.decode()
    assert "Smile Dental Practice" in body
    assert "Still pending" not in body
    assert "Average 4.0 from 4 checked reviews" in body
    assert "Treated with dignity" in body
    assert "75% of 4 reviewers would recommend them." in body  # 3 yes of 4 answers
    assert "Invited by the business" in body and "Written unprompted" in body
    assert "4 out of 5 stars" in body  # text equivalent of the stars


def test_provider_page_sorts_and_filters_reviews(client, provider, moderator):
    low = _published(provider, 1, moderator, rating=1, title="The lowest")[0]
    _published(provider, 2, moderator, rating=5)
    body = client.get(provider.get_absolute_url(), {"sort": "rating"}).content.decode()
    cards = body.split('<article class="review"')[1:]
    assert len(cards) == 3
    assert low.title in cards[0]
    body = client.get(provider.get_absolute_url(), {"rating": "1"}).content.decode()
    assert body.count('class="review"') == 1


def test_provider_page_escapes_review_text(client, provider, moderator):
    _published(provider, 1, moderator, title=XSS, body=f"{XSS} and more words to be long enough")
    body = client.get(provider.get_absolute_url()).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_provider_page_keeps_line_breaks(client, provider, moderator):
    _published(provider, 1, moderator, body="First paragraph of the review.\n\nSecond paragraph.")
    body = client.get(provider.get_absolute_url()).content.decode()
    assert "<p>First paragraph of the review.</p>" in body
    assert "<p>Second paragraph.</p>" in body


@pytest.mark.parametrize("count", [5, 40])
def test_provider_page_runs_a_constant_number_of_queries(
    client, provider, moderator, count, django_assert_max_num_queries
):
    _published(provider, count, moderator)
    voter = UserFactory()
    client.force_login(voter)
    client.get(provider.get_absolute_url())  # per-process caches warm, as in production
    # session and user; provider; reviews; aspects; votes; changes made; responsiveness (3,
    # which give the reply figures too); consumer alerts — none grows with the reviews
    with django_assert_max_num_queries(11):
        response = client.get(provider.get_absolute_url())
    assert response.status_code == 200


def test_inactive_or_unknown_provider_is_404(client, provider):
    provider.is_active = False
    provider.save()
    assert client.get(provider.get_absolute_url()).status_code == 404
    assert client.get("/providers/nobody/").status_code == 404


def test_provider_page_empty_state(client, provider):
    assert (
        "No reviews yet — be the first." in client.get(provider.get_absolute_url()).content.decode()
    )


# --- one review ---------------------------------------------------------------------------
def test_pending_review_is_visible_to_its_author_only(client, provider):
    review = ReviewFactory(provider=provider)
    assert client.get(review.get_absolute_url()).status_code == 404
    client.force_login(UserFactory())
    assert client.get(review.get_absolute_url()).status_code == 404
    client.force_login(review.author)
    body = client.get(review.get_absolute_url()).content.decode()
    assert "Only you can see this review" in body


# --- writing a review -----------------------------------------------------------------------
def test_review_form_needs_sign_in(client, provider):
    response = client.get(f"/providers/{provider.slug}/review/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_review_form_asks_the_category_questions(client_logged_in, provider):
    body = client_logged_in.get(f"/providers/{provider.slug}/review/").content.decode()
    assert "Treated with dignity" in body
    assert 'type="radio" name="rating"' in body
    assert "I want the business to resolve this" in body
    assert "never delays or hides your review" in body
    assert "Do not name staff" in body


def test_submitting_a_review_creates_it_pending_and_confirms(client_logged_in, customer, provider):
    response = client_logged_in.post(f"/providers/{provider.slug}/review/", _form())
    review = Review.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/reviews/{review.pk}/submitted/"
    assert (review.status, review.rating, review.author) == ("pending", 2, customer)
    assert review.aspects == {"dignity": 4}
    assert review.would_recommend is False
    page = client_logged_in.get(response["Location"]).content.decode()
    assert "will be checked by a moderator before it appears" in page


def _too_old_month():
    return add_months(visit_month_bounds()[0], -1).isoformat()


def _next_month():
    return add_months(visit_month_bounds()[1], 1).isoformat()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"rating": None}, "This field is required."),
        ({"rating": "6"}, "Select a valid choice."),
        ({"title": ""}, "This field is required."),
        ({"title": "x" * 121}, "Ensure this value has at most 120 characters"),
        ({"body": "Too short to be useful."}, "Ensure this value has at least 30 characters"),
        ({"body": "y" * 5001}, "Ensure this value has at most 5000 characters"),
        ({"visit_month": "FUTURE"}, "Select a valid choice."),
        ({"visit_month": "TOO_OLD"}, "Select a valid choice."),
        ({"aspect_dignity": "9"}, "Select a valid choice."),
    ],
)
def test_each_refusal_is_a_form_error_and_writes_nothing(
    client_logged_in, provider, changes, message
):
    if changes.get("visit_month") == "FUTURE":
        changes = {"visit_month": _next_month()}
    elif changes.get("visit_month") == "TOO_OLD":
        changes = {"visit_month": _too_old_month()}
    response = client_logged_in.post(f"/providers/{provider.slug}/review/", _form(**changes))
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert message in body
    assert Review.objects.count() == 0


def test_a_second_review_within_12_months_is_refused_with_a_message(
    client_logged_in, customer, provider
):
    ReviewFactory(provider=provider, author=customer)
    response = client_logged_in.post(f"/providers/{provider.slug}/review/", _form())
    assert "already reviewed this provider in the last 12 months" in response.content.decode()
    assert Review.objects.count() == 1


def test_review_body_round_trips_exactly(client_logged_in, provider):
    text = f"Line one {XSS} & \"quotes\" 'single'\n\nLine two with émojis 😀 and tabs\there."
    client_logged_in.post(f"/providers/{provider.slug}/review/", _form(body=text, title=XSS))
    review = Review.objects.get()
    assert review.body == text
    assert review.title == XSS


# --- votes and reports ---------------------------------------------------------------------
def test_helpful_vote_and_undo(client, provider, moderator):
    review = _published(provider, 1, moderator)[0]
    voter = UserFactory()
    client.force_login(voter)
    response = client.post(f"/reviews/{review.pk}/helpful/", {"next": provider.get_absolute_url()})
    assert response.status_code == 302
    assert response["Location"] == f"{provider.get_absolute_url()}#review-{review.pk}"
    review.refresh_from_db()
    assert review.helpful_count == 1
    page = client.get(provider.get_absolute_url()).content.decode()
    assert 'aria-pressed="true"' in page
    client.post(f"/reviews/{review.pk}/helpful/", {"action": "remove"})
    review.refresh_from_db()
    assert review.helpful_count == 0
    assert not HelpfulVote.objects.exists()


def test_helpful_next_url_cannot_redirect_off_site(client, provider, moderator):
    review = _published(provider, 1, moderator)[0]
    client.force_login(UserFactory())
    response = client.post(f"/reviews/{review.pk}/helpful/", {"next": "//evil.example/"})
    assert response["Location"].startswith(provider.get_absolute_url())


def test_report_a_review(client, provider, moderator):
    review = _published(provider, 1, moderator)[0]
    client.force_login(UserFactory())
    form = client.get(f"/reviews/{review.pk}/report/").content.decode()
    assert "It is harmful or illegal" in form
    response = client.post(
        f"/reviews/{review.pk}/report/", {"reason": "spam", "detail": "Advert for a clinic"}
    )
    assert response.status_code == 302
    report = Report.objects.get()
    assert (report.reason, report.detail, report.status) == ("spam", "Advert for a clinic", "open")


def test_report_without_a_reason_is_a_form_error(client, provider, moderator):
    review = _published(provider, 1, moderator)[0]
    client.force_login(UserFactory())
    response = client.post(f"/reviews/{review.pk}/report/", {"detail": "x"})
    assert "There is a problem" in response.content.decode()
    assert not Report.objects.exists()


# --- the author's own reviews ---------------------------------------------------------------
def test_my_reviews_lists_every_status(client_logged_in, customer, provider, dentists, moderator):
    published = _published(provider, 1, moderator, author=customer, title="Published one")[0]
    ReviewFactory(author=customer, title="Pending one", provider=ProviderFactory(category=dentists))
    body = client_logged_in.get("/accounts/reviews/").content.decode()
    assert "Published one" in body and "Pending one" in body
    assert "Waiting for moderation" in body
    assert f"/accounts/reviews/{published.pk}/edit/" in body


def test_editing_a_published_review_creates_a_revision_and_keeps_the_text(
    client_logged_in, customer, provider, moderator
):
    review = _published(provider, 1, moderator, author=customer, title="Original title")[0]
    response = client_logged_in.post(
        f"/accounts/reviews/{review.pk}/edit/", _form(title="Updated title", rating="4")
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.title == "Original title"
    revision = ReviewRevision.objects.get(review=review)
    assert (revision.title, revision.rating, revision.status) == ("Updated title", 4, "pending")
    assert "Original title" in client_logged_in.get(provider.get_absolute_url()).content.decode()


def test_withdrawing_a_review(client_logged_in, customer, provider, moderator):
    review = _published(provider, 1, moderator, author=customer)[0]
    page = client_logged_in.get(f"/accounts/reviews/{review.pk}/withdraw/").content.decode()
    assert "Withdraw review" in page
    client_logged_in.post(f"/accounts/reviews/{review.pk}/withdraw/")
    review.refresh_from_db()
    provider.refresh_from_db()
    assert review.status == "withdrawn"
    assert provider.review_count == 0


def test_another_customers_review_cannot_be_edited_or_withdrawn(client_logged_in, provider):
    review = ReviewFactory(provider=provider)
    assert client_logged_in.get(f"/accounts/reviews/{review.pk}/edit/").status_code == 404
    assert client_logged_in.post(f"/accounts/reviews/{review.pk}/withdraw/").status_code == 404
    review.refresh_from_db()
    assert review.status == "pending"


def test_visit_month_choices_cover_two_years(client_logged_in, provider):
    body = client_logged_in.get(f"/providers/{provider.slug}/review/").content.decode()
    earliest, latest = visit_month_bounds()
    assert f'value="{latest.isoformat()}"' in body
    assert f'value="{earliest.isoformat()}"' in body
    assert f'value="{add_months(earliest, -1).isoformat()}"' not in body
    assert isinstance(timezone.localdate(), dt.date)


def test_the_reply_figures_on_the_page_are_the_responsiveness_figures(client, provider, moderator):
    """The page takes its reply rate and time from the responsiveness score's queries; they
    must say what responses.insights.provider_reply_figures (the dashboard's) says."""
    from responses.insights import provider_reply_figures, provider_responsiveness
    from responses.models import Reply

    reviews = _published(provider, 4, moderator)
    for hours, review in zip((2, 30), reviews, strict=False):
        review.refresh_from_db()
        Reply.objects.create(
            review=review,
            provider=provider,
            responder_name="The manager",
            body="Thank you for writing.",
            status="published",
            submitted_at=review.published_at + dt.timedelta(hours=hours),
            published_at=review.published_at + dt.timedelta(hours=hours + 1),
        )
    assert provider_responsiveness(provider).response_figures() == provider_reply_figures(
        provider=provider
    )
    body = client.get(provider.get_absolute_url()).content.decode()
    assert "Replies to 50% of reviews, usually within 16 hours." in body


@pytest.mark.django_db
def test_each_page_of_reviews_is_its_own_canonical_page(client):
    from tests.factories import ModeratorFactory

    provider = ProviderFactory(slug="busy-place")
    moderator = ModeratorFactory()
    for _ in range(21):
        publish(ReviewFactory(provider=provider), moderator)
    first = client.get("/providers/busy-place/?sort=-rating").content.decode()
    second = client.get("/providers/busy-place/?page=2&sort=-rating").content.decode()
    assert 'rel="canonical" href="http://testserver/providers/busy-place/"' in first
    assert 'rel="canonical" href="http://testserver/providers/busy-place/?page=2"' in second
