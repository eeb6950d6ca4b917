"""Public reads: what the API lists is what the HTML pages show, in the same order."""

import pytest
from django.urls import reverse
from django.utils import timezone

from reviews.filters import ProviderFilter
from reviews.selectors import review_list_public
from reviews.services import provider_stats_recompute
from tests.factories import ProviderFactory, ReviewFactory, TicketFactory, publish


def _results(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body["results"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ordering": "name"},
        {"ordering": "-review_count"},
        {"ordering": "-score"},
        {"town": "York"},
        {"min_rating": "3"},
        {"search": "dental"},
    ],
)
def test_provider_list_matches_the_directory(world, api, params):
    html_params = {("q" if k == "search" else k): v for k, v in params.items()}
    expected = [p.slug for p in ProviderFilter(html_params).qs]
    got = [p["slug"] for p in _results(api.get("/api/v1/providers/", params))]
    assert got == expected
    page = api.get(reverse("reviews:provider_list"), html_params)
    for slug in got:
        assert f"/providers/{slug}/" in page.content.decode()


@pytest.mark.django_db
def test_provider_category_filter_uses_the_slug(world, api):
    slug = world["other_provider"].category.slug
    got = [p["slug"] for p in _results(api.get("/api/v1/providers/", {"category": slug}))]
    assert got == ["hilltop"]


@pytest.mark.django_db
def test_bad_filter_values_are_400_not_500(world, api):
    for params in ({"min_rating": "lots"}, {"category": "nope"}, {"ordering": "-id"}):
        response = api.get("/api/v1/providers/", params)
        assert response.status_code == 400
        assert response.json()["detail"]


@pytest.mark.django_db
def test_provider_detail_has_the_figures(world, api):
    body = api.get("/api/v1/providers/riverside-dental/").json()
    assert body["review_count"] == 2
    assert body["rating_average"] == 3.5
    assert body["rating_distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert body["reply_rate"] == 50
    assert body["median_first_response_hours"] is not None
    assert "email" not in str(body)
    # one reply and one complaint: too little to score fairly
    assert body["responsiveness"]["score"] is None
    assert body["responsiveness"]["band"] == "Not enough data yet"
    assert (body["responsiveness"]["replies"], body["responsiveness"]["tickets"]) == (1, 1)


@pytest.mark.django_db
def test_provider_detail_has_the_responsiveness_score_once_there_is_enough_data(world, api):
    from responses.insights import provider_responsiveness
    from tests.factories import TicketFactory

    TicketFactory.create_batch(3, provider=world["provider"])
    body = api.get("/api/v1/providers/riverside-dental/").json()["responsiveness"]
    expected = provider_responsiveness(world["provider"])
    assert body["score"] == expected.score is not None
    assert body["band"] == expected.band
    assert body["reply_rate"] == 50 and body["tickets"] == 4


@pytest.mark.django_db
def test_unknown_or_inactive_provider_is_404(world, api):
    world["other_provider"].is_active = False
    world["other_provider"].save()
    assert api.get("/api/v1/providers/hilltop/").status_code == 404
    assert api.get("/api/v1/providers/nobody/").status_code == 404
    assert api.get("/api/v1/providers/nobody/reviews/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("ordering", ["-published_at", "-rating", "rating", "-helpful_count"])
def test_provider_reviews_order_as_the_page(world, api, ordering):
    provider = world["provider"]
    for rating in (1, 3, 4):
        publish(ReviewFactory(provider=provider, rating=rating), world["moderator"])
    expected = [r.pk for r in review_list_public(provider=provider, ordering=ordering)]
    url = "/api/v1/providers/riverside-dental/reviews/"
    got = [r["id"] for r in _results(api.get(url, {"ordering": ordering}))]
    assert got == expected


@pytest.mark.django_db
def test_provider_reviews_filters(world, api):
    url = "/api/v1/providers/riverside-dental/reviews/"
    assert [r["id"] for r in _results(api.get(url, {"rating": 5}))] == [world["replied"].pk]
    assert [r["id"] for r in _results(api.get(url, {"has_reply": "true"}))] == [world["replied"].pk]
    assert [r["id"] for r in _results(api.get(url, {"has_reply": "false"}))] == [world["review"].pk]
    assert api.get(url, {"rating": 9}).status_code == 400


@pytest.mark.django_db
def test_pending_reviews_are_not_listed_and_are_404_to_others(world, api, as_user):
    pending = ReviewFactory(provider=world["provider"], author=world["other_customer"])
    url = "/api/v1/providers/riverside-dental/reviews/"
    assert pending.pk not in [r["id"] for r in _results(api.get(url))]
    assert api.get(f"/api/v1/reviews/{pending.pk}/").status_code == 404
    assert as_user(world["customer"]).get(f"/api/v1/reviews/{pending.pk}/").status_code == 404
    own = as_user(world["other_customer"]).get(f"/api/v1/reviews/{pending.pk}/")
    assert own.status_code == 200
    assert own.json()["status"] == "pending"


@pytest.mark.django_db
def test_review_detail_has_reply_and_complaint(world, api):
    replied = api.get(f"/api/v1/reviews/{world['replied'].pk}/").json()
    assert replied["reply"]["responder_name"] == "Olive Owner"
    assert replied["reply"]["responder_title"] == "Owner"
    assert replied["complaint"] is None
    complaint = api.get(f"/api/v1/reviews/{world['review'].pk}/").json()
    assert complaint["reply"] is None
    assert complaint["complaint"]["status"] == "new"
    assert complaint["complaint"]["outcome"] == "Complaint in progress"
    for body in (replied, complaint):
        assert "@" not in str(body)


@pytest.mark.django_db
def test_pagination_page_size(world, api):
    for n in range(5):
        ProviderFactory(name=f"Extra {n}")
    body = api.get("/api/v1/providers/", {"page_size": 3}).json()
    assert body["count"] == 7 and len(body["results"]) == 3 and body["next"]
    assert len(api.get("/api/v1/providers/", {"page_size": 500}).json()["results"]) == 7


def _make_rows(world, n):
    """n more providers, n more published reviews and n more tickets on the owner's provider,
    written straight to the tables (the count of rows is what matters here, not the path),
    with the provider's figures recomputed as the services would have kept them."""
    provider, now = world["provider"], timezone.now()
    ProviderFactory.create_batch(n)
    ReviewFactory.create_batch(n, provider=provider, status="published", published_at=now)
    TicketFactory.create_batch(n, provider=provider)
    # The lists count from the stored figures, which the services would have kept.
    provider_stats_recompute(provider_ids=[provider.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 500])
def test_list_queries_are_constant(world, as_user, n, django_assert_max_num_queries):
    _make_rows(world, n)
    client = as_user(world["owner"])
    for url in (
        "/api/v1/categories/?page_size=100",
        "/api/v1/providers/?page_size=100",
        "/api/v1/providers/riverside-dental/reviews/?page_size=100",
        "/api/v1/tickets/?page_size=100",
    ):
        with django_assert_max_num_queries(8):
            response = client.get(url)
        assert response.status_code == 200
        assert len(response.json()["results"]) >= min(n, 100), url


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/providers/?page_size=lots", "page_size"),
        ("/api/v1/providers/?page_size=0", "page_size"),
        ("/api/v1/providers/riverside-dental/reviews/?has_reply=maybe", "has_reply"),
        ("/api/v1/tickets/?overdue=null", "overdue"),
        ("/api/v1/providers/?ordering=", "ordering"),
        ("/api/v1/providers/?min_rating=", "min_rating"),
        ("/api/v1/tickets/?status=", "status"),
    ],
)
def test_bad_query_parameters_are_refused_by_name(world, as_user, url, field):
    response = as_user(world["owner"]).get(url)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
def test_a_path_no_route_matches_answers_json_not_a_web_page(world, api):
    response = api.get("/api/v1/business/providers/not a slug/invitations/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
    page = api.get("/no-such-page/")
    assert page.status_code == 404 and "text/html" in page["Content-Type"]
