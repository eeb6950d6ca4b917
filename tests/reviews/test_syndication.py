"""The Atom feed, the embeddable badge, JSON-LD and the sitemap: right data, and user text that
stays text wherever it goes."""

import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from reviews.selectors import review_list_public
from reviews.services import review_report
from reviews.sitemaps import ProviderSitemap
from reviews.syndication import provider_jsonld
from tests.factories import CategoryFactory, ProviderFactory, ReviewFactory, publish

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SVG = "{http://www.w3.org/2000/svg}"
HOSTILE_TITLE = "</script><script>alert(1)</script>"
HOSTILE_BODY = '<b>bold</b> & "quotes"\nand a second line, long enough to be a real review.'


def parse(content: bytes) -> ET.Element:
    # Our own responses under test, not untrusted input: the standard parser is fine here.
    return ET.fromstring(content)  # noqa: S314


def published(moderator, **kwargs):
    review = publish(ReviewFactory(**kwargs), moderator)
    review.refresh_from_db()
    return review


def days_ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def feed_entries(client, provider):
    response = client.get(f"/providers/{provider.slug}/feed/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = parse(response.content)
    assert root.tag == f"{ATOM}feed"
    return root, root.findall(f"{ATOM}entry")


# --- feed ---------------------------------------------------------------------------------
def test_feed_lists_only_this_providers_published_reviews_newest_first(client, moderator):
    provider = ProviderFactory(name="Riverside Dental")
    old = published(moderator, provider=provider, title="Old one", published_at=days_ago(9))
    new = published(moderator, provider=provider, title="New one", published_at=days_ago(1))
    middle = published(moderator, provider=provider, title="Middle", published_at=days_ago(5))
    ReviewFactory(provider=provider, title="Still pending")
    published(moderator, title="Another provider's review")

    root, entries = feed_entries(client, provider)

    assert root.findtext(f"{ATOM}title") == "Reviews of Riverside Dental"
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert len(titles) == 3
    for title, review in zip(titles, (new, middle, old), strict=True):
        assert review.title in title
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links == [f"http://testserver/reviews/{r.pk}/" for r in (new, middle, old)]


def test_feed_entry_carries_rating_author_dates_and_body(client, moderator, customer):
    review = published(
        moderator, provider=ProviderFactory(), author=customer, rating=4, title="Kind staff"
    )

    _root, [entry] = feed_entries(client, review.provider)

    assert entry.findtext(f"{ATOM}title") == "★★★★☆ Kind staff (4 out of 5 stars)"
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == "Casey Customer"
    assert entry.findtext(f"{ATOM}summary") == review.body
    published_at = dt.datetime.fromisoformat(entry.findtext(f"{ATOM}published"))
    assert published_at == review.published_at
    assert entry.findtext(f"{ATOM}updated")


def test_feed_keeps_hostile_text_as_text(client, moderator):
    review = published(moderator, title=HOSTILE_TITLE, body=HOSTILE_BODY)

    response = client.get(f"/providers/{review.provider.slug}/feed/")
    raw = response.content.decode()

    assert "<script" not in raw
    assert "<b>" not in raw
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    entry = parse(response.content).find(f"{ATOM}entry")
    assert HOSTILE_TITLE in entry.findtext(f"{ATOM}title")
    summary = entry.find(f"{ATOM}summary")
    # type="text": readers show the characters, they never parse them as HTML.
    assert summary.get("type") == "text"
    assert summary.text == HOSTILE_BODY


def hide(review, reporter):
    """A "harmful or illegal" report hides a review at once, pending a moderator."""
    review_report(review=review, reporter=reporter, reason="harmful_or_illegal")
    review.refresh_from_db()
    assert review.is_hidden
    return review


def test_feed_shows_a_notice_instead_of_a_hidden_review(client, moderator, customer):
    review = hide(published(moderator, title="Named the nurse", rating=2), customer)

    response = client.get(f"/providers/{review.provider.slug}/feed/")
    [entry] = parse(response.content).findall(f"{ATOM}entry")

    assert "Named the nurse" not in response.content.decode()
    assert review.body not in response.content.decode()
    assert entry.findtext(f"{ATOM}title").startswith("★★☆☆☆ Hidden while a report is checked")
    assert "moderators check a report" in entry.findtext(f"{ATOM}summary")


def test_feed_stops_at_twenty_reviews(client, moderator):
    provider = ProviderFactory()
    for i in range(22):
        published(moderator, provider=provider, published_at=days_ago(i + 1))

    _root, entries = feed_entries(client, provider)

    assert len(entries) == 20


@pytest.mark.parametrize("n", [2, 25])
def test_feed_runs_the_same_queries_for_few_or_many_reviews(
    client, moderator, django_assert_max_num_queries, n
):
    provider = ProviderFactory()
    for _i in range(n):
        published(moderator, provider=provider)

    with django_assert_max_num_queries(2):
        response = client.get(f"/providers/{provider.slug}/feed/")
    assert response.status_code == 200


def test_feed_of_an_inactive_provider_is_404(client):
    provider = ProviderFactory(is_active=False)
    assert client.get(f"/providers/{provider.slug}/feed/").status_code == 404


# --- badge --------------------------------------------------------------------------------
def badge(client, provider):
    return client.get(f"/providers/{provider.slug}/badge.svg")


def badge_texts(response) -> list[str]:
    """What the badge draws as words: each text element, and each of its parts."""
    texts = []
    for element in parse(response.content).iter(f"{SVG}text"):
        texts.append("".join(element.itertext()))
        texts.extend(part.text for part in element.iter(f"{SVG}tspan"))
    return texts


def root_title(response) -> str:
    return parse(response.content).findtext(f"{SVG}title")


def test_badge_shows_the_stored_bayesian_score_and_count(client, moderator):
    provider = ProviderFactory()
    published(moderator, provider=provider, rating=5)
    published(moderator, provider=provider, rating=4)
    provider.refresh_from_db()

    response = badge(client, provider)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "public, max-age=3600"
    score = f"{provider.score:.1f}"
    # The prior pulls two glowing reviews towards the middle: 3.7, not their average of 4.5.
    assert score == "3.7"
    texts = badge_texts(response)
    assert score in texts
    assert "2 reviews" in texts
    assert "4.5" not in texts
    assert "4.5" not in root_title(response)


def test_badge_is_accessible_well_formed_svg(client, moderator):
    provider = ProviderFactory(name="Smith & Sons <Dental>")
    published(moderator, provider=provider, rating=3)

    response = badge(client, provider)
    svg = response.content.decode()
    root = parse(response.content)

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert root.get("aria-labelledby") == title.get("id")
    assert title.text.startswith("Smith & Sons <Dental> on Heard: score")
    assert "Smith &amp; Sons &lt;Dental&gt;" in svg
    assert "<Dental>" not in svg
    assert "Heard" in badge_texts(response)


def test_badge_never_shows_review_text(client, moderator):
    review = published(moderator, title=HOSTILE_TITLE, body=HOSTILE_BODY)

    svg = badge(client, review.provider).content.decode()

    assert "<script" not in svg.lower()
    assert "alert" not in svg
    assert "bold" not in svg


def test_badge_without_reviews_says_so(client):
    provider = ProviderFactory()

    response = badge(client, provider)
    texts = badge_texts(response)

    assert response.status_code == 200
    assert "No reviews yet" in texts
    # The prior alone (3.5) is not a rating anyone gave.
    assert "3.5" not in response.content.decode()


@pytest.mark.parametrize("slug", ["closed-down", "no-such-provider"])
def test_badge_of_an_inactive_or_unknown_provider_is_404(client, slug):
    ProviderFactory(slug="closed-down", is_active=False)
    assert client.get(f"/providers/{slug}/badge.svg").status_code == 404


# --- JSON-LD ------------------------------------------------------------------------------
def jsonld_for(rf, provider):
    provider.refresh_from_db()
    request = rf.get(provider.get_absolute_url())
    reviews = list(review_list_public(provider=provider))
    return provider_jsonld(provider=provider, reviews=reviews, request=request)


def test_jsonld_describes_the_business_its_rating_and_visible_reviews(rf, moderator, customer):
    provider = ProviderFactory(
        name="Riverside Dental",
        slug="riverside-dental",
        category=CategoryFactory(slug="dentists", name="Dentists"),
        address_line1="1 High Street",
        address_line2="Headingley",
        town="Leeds",
        postcode="LS6 1AA",
        phone="0113 496 0000",
    )
    review = published(moderator, provider=provider, author=customer, rating=5, title="Great")
    published(moderator, provider=provider, rating=4)
    published(moderator, provider=provider, rating=4)

    data = json.loads(jsonld_for(rf, provider))

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Dentist"
    assert data["name"] == "Riverside Dental"
    assert data["url"] == "http://testserver/providers/riverside-dental/"
    assert data["telephone"] == "0113 496 0000"
    assert data["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "1 High Street, Headingley",
        "addressLocality": "Leeds",
        "postalCode": "LS6 1AA",
        "addressCountry": "GB",
    }
    assert data["aggregateRating"] == {
        "@type": "AggregateRating",
        "ratingValue": 4.33,
        "reviewCount": 3,
        "bestRating": 5,
        "worstRating": 1,
    }
    assert len(data["review"]) == 3
    first = next(r for r in data["review"] if r["name"] == "Great")
    assert first["author"] == {"@type": "Person", "name": "Casey Customer"}
    assert first["reviewBody"] == review.body
    assert first["reviewRating"]["ratingValue"] == 5
    assert first["datePublished"] == timezone.localdate(review.published_at).isoformat()


@pytest.mark.parametrize(
    ("slug", "schema_type"),
    [
        ("gp-practices", "MedicalClinic"),
        ("care-homes", "NursingHome"),
        ("vets", "VeterinaryCare"),
        ("knitting-circles", "LocalBusiness"),
    ],
)
def test_jsonld_type_follows_the_category(rf, slug, schema_type):
    provider = ProviderFactory(category=CategoryFactory(slug=slug))
    assert json.loads(jsonld_for(rf, provider))["@type"] == schema_type


def test_jsonld_has_no_rating_or_reviews_without_reviews(rf, moderator):
    provider = ProviderFactory()
    ReviewFactory(provider=provider)  # pending: not counted, not shown

    data = json.loads(jsonld_for(rf, provider))

    assert "aggregateRating" not in data
    assert "review" not in data


def test_jsonld_cannot_close_its_script_element(rf, moderator):
    body = HOSTILE_BODY + " <!-- \u2028 \u2029 </SCRIPT>"
    review = published(moderator, title=HOSTILE_TITLE, body=body)

    text = jsonld_for(rf, review.provider)

    assert "</script" not in text.lower()
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert "\\u003C/script\\u003E" in text
    [item] = json.loads(text)["review"]
    assert item["name"] == HOSTILE_TITLE
    assert item["reviewBody"] == body


def test_jsonld_leaves_out_hidden_reviews_but_still_counts_them(rf, moderator, customer):
    provider = ProviderFactory()
    shown = published(moderator, provider=provider, rating=4, title="Shown")
    hide(published(moderator, provider=provider, rating=2, title="Hidden"), customer)

    data = json.loads(jsonld_for(rf, provider))

    assert [r["name"] for r in data["review"]] == [shown.title]
    assert data["aggregateRating"]["reviewCount"] == 2
    assert data["aggregateRating"]["ratingValue"] == 3


# --- sitemap ------------------------------------------------------------------------------
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def sitemap_index(client) -> dict[str, str | None]:
    """/sitemap.xml as {sitemap URL: lastmod}."""
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    root = parse(response.content)
    assert root.tag == f"{SITEMAP}sitemapindex"
    return {
        s.findtext(f"{SITEMAP}loc"): s.findtext(f"{SITEMAP}lastmod")
        for s in root.iter(f"{SITEMAP}sitemap")
    }


def sitemap_urls(client, path: str) -> dict[str, str | None]:
    """One sitemap file as {URL: lastmod}, in the order it lists them."""
    response = client.get(path)
    assert response.status_code == 200
    root = parse(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    return {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod") for u in root}


def touched(provider, days: int):
    # updated_at is auto_now: set it behind the model's back to know which change is newest.
    type(provider).objects.filter(pk=provider.pk).update(updated_at=days_ago(days))
    provider.refresh_from_db()
    return provider


@pytest.fixture
def small_sitemap_pages(monkeypatch):
    """Provider sitemap files of 2 URLs instead of 10,000, so pages can be seen splitting."""
    monkeypatch.setattr(ProviderSitemap, "limit", 2)


def test_sitemap_is_an_index_of_its_sections_with_the_newest_change(client):
    newest = touched(ProviderFactory(), days=1)
    touched(ProviderFactory(), days=5)
    # A closed-down listing changed later still says nothing about the listed ones.
    touched(ProviderFactory(is_active=False), days=0)

    index = sitemap_index(client)

    assert list(index) == [
        "http://testserver/sitemap-pages.xml",
        "http://testserver/sitemap-providers.xml",
    ]
    assert index["http://testserver/sitemap-pages.xml"] is None  # no date to give
    assert index["http://testserver/sitemap-providers.xml"] == newest.updated_at.isoformat()


def test_provider_sitemap_lists_active_providers_with_their_last_change(client):
    listed = touched(ProviderFactory(slug="open-for-business"), days=3)
    ProviderFactory(slug="closed-down", is_active=False)

    urls = sitemap_urls(client, "/sitemap-providers.xml")

    assert urls == {
        "http://testserver/providers/open-for-business/": listed.updated_at.date().isoformat()
    }


def test_pages_sitemap_lists_the_public_pages(client):
    ProviderFactory(slug="open-for-business")

    urls = sitemap_urls(client, "/sitemap-pages.xml")

    assert list(urls) == [
        f"http://testserver{path}" for path in ("/", "/providers/", "/reviews-policy/", "/stats/")
    ]


def test_provider_sitemap_pages_split_at_the_limit(client, small_sitemap_pages):
    providers = [ProviderFactory() for _ in range(5)]
    ProviderFactory(is_active=False)

    index = sitemap_index(client)
    base = "http://testserver/sitemap-providers.xml"
    assert [url for url in index if url.startswith(base)] == [base, f"{base}?p=2", f"{base}?p=3"]
    pages = [sitemap_urls(client, f"/sitemap-providers.xml?p={p}") for p in (1, 2, 3)]

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [url for page in pages for url in page]
    assert listed == [f"http://testserver/providers/{p.slug}/" for p in providers]
    assert client.get("/sitemap-providers.xml?p=4").status_code == 404
    assert client.get("/sitemap-providers.xml?p=two").status_code == 404
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_sitemap_queries_do_not_grow_with_providers(
    client, small_sitemap_pages, django_assert_num_queries
):
    ProviderFactory.create_batch(3)
    sitemap_index(client)  # warm per-process caches before counting

    def two_queries(path: str) -> None:
        # The index: the count and the newest change; a page: the count and its rows.
        with django_assert_num_queries(2):
            assert client.get(path).status_code == 200

    for path in ("/sitemap.xml", "/sitemap-providers.xml", "/sitemap-providers.xml?p=2"):
        two_queries(path)
    ProviderFactory.create_batch(12)
    for path in ("/sitemap.xml", "/sitemap-providers.xml", "/sitemap-providers.xml?p=8"):
        two_queries(path)
    with django_assert_num_queries(0):
        assert client.get("/sitemap-pages.xml").status_code == 200
