"""The moderation desk in the admin: queues, decisions through actions, the read-only log, and
lists and filters that stay quick with a million reviews."""

import csv
import datetime as dt
import html
import io
import re

import pytest
import time_machine
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reviews.models import ModerationDecision, Report, Review, ReviewRevision
from reviews.services import (
    STAT_FIELDS,
    provider_stats_compute,
    review_report,
    review_revise,
)
from tests.factories import (
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
    publish,
)

pytestmark = pytest.mark.django_db

QUEUE = "/admin/reviews/pendingreview/"
EDITS = "/admin/reviews/pendingrevision/"
REPORTS = "/admin/reviews/openreport/"
LOG = "/admin/reviews/moderationdecision/"


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def _action(client, url, action, objects, **extra):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **extra}
    return client.post(url, data)


def _figures_match(provider):
    provider.refresh_from_db()
    expected = provider_stats_compute(provider_ids=[provider.pk])[provider.pk]
    return {f: getattr(provider, f) for f in STAT_FIELDS} == expected


def test_queue_shows_flags_highlighted_and_the_authors_history(mod_client):
    author = UserFactory()
    ReviewFactory(author=author, status="rejected")
    ReviewFactory(
        author=author,
        body="Call me on 07700 900123 about the <b>appointment</b> mix-up, please.",
        flags=["contains_phone"],
    )
    body = mod_client.get(QUEUE).content.decode()
    assert '<mark class="flagged">07700 900123</mark>' in body
    assert "&lt;b&gt;appointment&lt;/b&gt;" in body  # user text stays text
    assert "Contains a phone number" in body
    assert "2 reviews, 1 rejected" in body


def test_queue_is_oldest_first(mod_client):
    newer = ReviewFactory(title="Newer one")
    older = ReviewFactory(title="Older one")
    Review.objects.filter(pk=older.pk).update(submitted_at=newer.submitted_at.replace(year=2025))
    body = mod_client.get(QUEUE).content.decode()
    assert body.index("Older one") < body.index("Newer one")


def test_bulk_approve_of_200_reviews_keeps_figures_exact(mod_client, moderator):
    provider = ProviderFactory()
    reviews = [ReviewFactory(provider=provider, rating=1 + i % 5) for i in range(200)]
    response = _action(mod_client, QUEUE, "approve_selected", reviews)
    assert response.status_code == 302
    assert Review.objects.filter(status="published").count() == 200
    assert ModerationDecision.objects.filter(decision="approve").count() == 200
    provider.refresh_from_db()
    assert provider.review_count == 200
    assert _figures_match(provider)


def test_bulk_reject_asks_for_the_reason_first(mod_client):
    reviews = ReviewFactory.create_batch(3)
    page = _action(mod_client, QUEUE, "reject_selected", reviews)
    assert page.status_code == 200
    assert "give the reason" in page.content.decode()
    assert Review.objects.filter(status="rejected").count() == 0
    missing = _action(mod_client, QUEUE, "reject_selected", reviews, confirm="yes", reason="")
    assert "Choose the reason" in missing.content.decode()
    assert Review.objects.filter(status="rejected").count() == 0


def test_rejecting_with_a_reason_records_it_and_tells_the_author(
    mod_client, django_capture_on_commit_callbacks
):
    review = ReviewFactory(body="My GP Dr Jones at 12 Acacia Avenue was very rude to me there.")
    with django_capture_on_commit_callbacks(execute=True):
        _action(
            mod_client,
            QUEUE,
            "reject_selected",
            [review],
            confirm="yes",
            reason="personal_information",
            note="Please remove the address.",
        )
    review.refresh_from_db()
    assert review.status == "rejected"
    decision = ModerationDecision.objects.get()
    assert (decision.decision, decision.reason) == ("reject", "personal_information")
    assert len(mail.outbox) == 1
    assert "Contains personal information" in mail.outbox[0].body
    assert "Please remove the address." in mail.outbox[0].body
    assert "appeal" in mail.outbox[0].body


def test_rejected_edit_leaves_the_public_text(mod_client, moderator):
    review = publish(ReviewFactory(title="Original"), moderator)
    revision = review_revise(
        review=review,
        author=review.author,
        rating=1,
        title="Changed title",
        body=review.body,
        visit_month=review.visit_month,
    )
    listing = mod_client.get(EDITS).content.decode()
    assert "<del>Original</del><ins>Changed title</ins>" in listing.replace("\n", "")
    _action(mod_client, EDITS, "reject_selected", [revision], confirm="yes", reason="other")
    review.refresh_from_db()
    revision.refresh_from_db()
    assert (review.title, review.rating, revision.status) == ("Original", 4, "rejected")
    assert _figures_match(review.provider)


def test_approved_edit_replaces_the_public_text(mod_client, moderator):
    review = publish(ReviewFactory(title="Original", rating=5), moderator)
    revision = review_revise(
        review=review,
        author=review.author,
        rating=2,
        title="Second thoughts",
        body=review.body,
        visit_month=review.visit_month,
    )
    _action(mod_client, EDITS, "approve_selected", [revision])
    review.refresh_from_db()
    assert (review.title, review.rating) == ("Second thoughts", 2)
    assert _figures_match(review.provider)


def test_harmful_report_hides_at_once_other_reasons_do_not(client, moderator):
    harmful, ordinary = (publish(ReviewFactory(), moderator) for _ in range(2))
    review_report(review=harmful, reporter=UserFactory(), reason="harmful_or_illegal")
    review_report(review=ordinary, reporter=UserFactory(), reason="offensive")
    harmful.refresh_from_db()
    ordinary.refresh_from_db()
    assert harmful.is_hidden and not ordinary.is_hidden
    page = client.get(harmful.provider.get_absolute_url()).content.decode()
    assert "Review hidden while it is checked" in page
    assert harmful.body not in page
    assert ordinary.body in client.get(ordinary.provider.get_absolute_url()).content.decode()


def test_upholding_a_report_removes_the_review_and_tells_both_sides(
    mod_client, moderator, django_capture_on_commit_callbacks
):
    review = publish(ReviewFactory(), moderator)
    reporter = UserFactory()
    report = review_report(review=review, reporter=reporter, reason="spam")
    with django_capture_on_commit_callbacks(execute=True):
        _action(
            mod_client, REPORTS, "approve_selected", [report], confirm="yes", reason="advertising"
        )
    review.refresh_from_db()
    report.refresh_from_db()
    assert (review.status, report.status) == ("removed", "upheld")
    assert _figures_match(review.provider)
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == sorted([review.author.email, reporter.email])
    decisions = set(ModerationDecision.objects.values_list("decision", flat=True))
    assert {"remove", "uphold"} <= decisions


def test_dismissing_a_report_keeps_and_unhides_the_review(mod_client, moderator):
    review = publish(ReviewFactory(), moderator)
    report = review_report(review=review, reporter=UserFactory(), reason="harmful_or_illegal")
    _action(mod_client, REPORTS, "reject_selected", [report])
    review.refresh_from_db()
    report.refresh_from_db()
    assert (review.status, review.is_hidden, report.status) == ("published", False, "dismissed")


def test_legal_demands_are_for_superusers_only(mod_client, moderator, client):
    review = publish(ReviewFactory(), moderator)
    report = review_report(review=review, reporter=UserFactory(), reason="legal_demand")
    response = _action(mod_client, REPORTS, "reject_selected", [report])
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == "open"
    boss = StaffFactory(is_superuser=True)
    client.force_login(boss)
    _action(client, REPORTS, "reject_selected", [report])
    report.refresh_from_db()
    assert report.status == "dismissed"


def test_decision_log_cannot_be_added_changed_or_deleted(mod_client, moderator):
    publish(ReviewFactory(), moderator)
    decision = ModerationDecision.objects.get()
    change_url = f"{LOG}{decision.pk}/change/"
    page = mod_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert mod_client.post(change_url, {"note": "rewritten"}).status_code == 403
    assert mod_client.post(f"{LOG}{decision.pk}/delete/", {"post": "yes"}).status_code == 403
    assert mod_client.get(f"{LOG}add/").status_code == 403
    decision.refresh_from_db()
    assert decision.note == ""
    assert ModerationDecision.objects.count() == 1


def test_status_cannot_be_changed_through_a_form(mod_client, moderator):
    review = ReviewFactory()
    response = mod_client.post(
        f"/admin/reviews/review/{review.pk}/change/", {"status": "published"}
    )
    assert response.status_code == 403
    review.refresh_from_db()
    assert review.status == "pending"


def test_decision_log_exports_csv_with_formulas_neutralised(mod_client, moderator):
    review = ReviewFactory()
    _action(
        mod_client,
        QUEUE,
        "reject_selected",
        [review],
        confirm="yes",
        reason="other",
        note='=HYPERLINK("http://evil.example","x")',
    )
    response = mod_client.get(f"{LOG}export/")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["decided_at", "moderator", "decision", "reason"]
    assert rows[1][2:4] == ["reject", "other"]
    assert rows[1][-1] == '\'=HYPERLINK("http://evil.example","x")'


def test_admin_index_shows_queues_and_rejection_rates(mod_client, moderator):
    ReviewFactory.create_batch(2)
    rejected = ReviewFactory(rating=1)
    _action(mod_client, QUEUE, "reject_selected", [rejected], confirm="yes", reason="other")
    publish(ReviewFactory(rating=5), moderator)
    body = mod_client.get("/admin/").content.decode()
    assert "Moderation queues" in body
    assert 'href="/admin/reviews/pendingreview/">Reviews waiting</a></th><td>2</td>' in body
    assert "Decisions today: <strong>2</strong>" in body
    assert '<th scope="row">1 star</th><td>1</td><td>1</td><td>100%</td>' in body


def test_the_desk_counts_every_queue_exactly_with_its_oldest_item(mod_client, moderator):
    with time_machine.travel(timezone.now() - dt.timedelta(days=3)):
        ReviewFactory()
    ReviewFactory.create_batch(2)
    review = publish(ReviewFactory(), moderator)
    with time_machine.travel(timezone.now() - dt.timedelta(hours=5)):
        review_report(review=review, reporter=UserFactory(), reason="spam")

    with CaptureQueriesContext(connection) as queries:
        body = mod_client.get("/admin/").content.decode()
    row = '{}">{}</a></th><td>{}</td><td>{}</td></tr>'
    assert row.format(QUEUE, "Reviews waiting", 3, "3\xa0days") in body
    assert row.format(REPORTS, "Open reports", 1, "5\xa0hours") in body
    for url, label in [
        (EDITS, "Edits to published reviews waiting"),
        ("/admin/responses/pendingreply/", "Replies waiting"),
        ("/admin/responses/pendingreplyrevision/", "Edits to published replies waiting"),
        ("/admin/responses/pendingclaim/", "Provider claims waiting"),
        ("/admin/responses/escalatedticket/", "Escalated tickets"),
    ]:
        assert row.format(url, label, 0, "—") in body
    # All seven in one statement, and exact: counted, not estimated.
    unions = [q["sql"] for q in queries.captured_queries if "UNION ALL" in q["sql"]]
    assert len(unions) == 1 and unions[0].count("COUNT(*)") == 7


ADMIN_URLS = [
    "/admin/",
    QUEUE,
    EDITS,
    REPORTS,
    LOG,
    f"{LOG}export/",
    "/admin/reviews/review/",
    "/admin/reviews/provider/",
    "/admin/reviews/category/",
    "/admin/accounts/user/",
]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_non_staff_get_no_admin_page(client, customer, url):
    client.force_login(customer)
    response = client.get(url)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert "/login/" in response["Location"]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_anonymous_get_no_admin_page(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_staff_outside_the_moderators_group_cannot_moderate(client, db):
    client.force_login(StaffFactory())
    review = ReviewFactory()
    assert client.get(QUEUE).status_code == 403
    _action(client, QUEUE, "approve_selected", [review])
    review.refresh_from_db()
    assert review.status == "pending"


def test_moderators_cannot_manage_users(mod_client):
    assert mod_client.get("/admin/accounts/user/").status_code == 403


@pytest.mark.parametrize("url", [QUEUE, EDITS, REPORTS, LOG, "/admin/reviews/review/", "/admin/"])
def test_changelists_run_a_constant_number_of_queries(
    mod_client, moderator, url, django_assert_max_num_queries
):
    def make(n):
        for _ in range(n):
            review = publish(ReviewFactory(), moderator)
            review_revise(
                review=review,
                author=review.author,
                rating=3,
                title="Edited",
                body=review.body,
                visit_month=review.visit_month,
            )
            review_report(review=review, reporter=UserFactory(), reason="spam")
            ReviewFactory()

    make(2)
    mod_client.get(url)  # per-process caches (content types) warm, as in production
    with django_assert_max_num_queries(20) as small:
        assert mod_client.get(url).status_code == 200
    make(10)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert mod_client.get(url).status_code == 200


def test_report_counts_appear_on_the_open_reports_queue(mod_client, moderator):
    review = publish(ReviewFactory(title="Reported review"), moderator)
    review_report(review=review, reporter=UserFactory(), reason="not_genuine", detail="Fake")
    body = mod_client.get(REPORTS).content.decode()
    assert "Reported review" in body and "It is not a genuine experience" in body
    assert Report.objects.count() == 1


def test_revision_count_helper(moderator):
    review = publish(ReviewFactory(), moderator)
    review_revise(
        review=review,
        author=review.author,
        rating=3,
        title="Edited",
        body=review.body,
        visit_month=review.visit_month,
    )
    assert ReviewRevision.objects.filter(status="pending").count() == 1
    assert reverse("admin:reviews_pendingrevision_changelist") == EDITS


# --- lists that stay quick at a million reviews (issue #10) -----------------------------------
def _sql(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("url", [QUEUE, "/admin/reviews/review/"])
def test_the_rating_filter_offers_one_to_five_and_filters(mod_client, url):
    ReviewFactory(rating=2, title="A two-star review")
    ReviewFactory(rating=4, title="A four-star review")
    with CaptureQueriesContext(connection) as queries:
        body = mod_client.get(url).content.decode()
    for stars, label in [(1, "1 star"), (2, "2 stars"), (3, "3 stars"), (4, "4 stars")]:
        assert f'<a href="?rating={stars}">{label}</a>' in body
    assert '<a href="?rating=5">5 stars</a>' in body
    # Offered from the fixed scale, not looked up in the reviews.
    assert not [sql for sql in _sql(queries) if "DISTINCT" in sql]

    four = mod_client.get(url, {"rating": "4"}).content.decode()
    assert "A four-star review" in four and "A two-star review" not in four
    nothing = mod_client.get(url, {"rating": "3"}).content.decode()
    assert "A four-star review" not in nothing and "A two-star review" not in nothing


def test_every_review_is_listed_newest_first(mod_client):
    older = ReviewFactory(title="The older review")
    newer = ReviewFactory(title="The newer review")
    Review.objects.filter(pk=older.pk).update(submitted_at=newer.submitted_at.replace(year=2025))
    body = mod_client.get("/admin/reviews/review/").content.decode()
    assert body.index("The newer review") < body.index("The older review")


def test_the_decision_logs_moderator_filter_lists_only_people_who_decided(mod_client, moderator):
    bea = ModeratorFactory(display_name="Busy Bea")
    idle = ModeratorFactory(display_name="Idle Ida")
    bystander = UserFactory(display_name="Casey Bystander")
    publish(ReviewFactory(title="Decided by Bea"), bea)
    publish(ReviewFactory(title="Decided by Morgan"), moderator)

    body = mod_client.get(LOG).content.decode()
    assert f'<a href="?moderator__id__exact={bea.pk}">Busy Bea</a>' in body
    assert f'<a href="?moderator__id__exact={moderator.pk}">Morgan Moderator</a>' in body
    assert f"moderator__id__exact={idle.pk}" not in body
    assert f"moderator__id__exact={bystander.pk}" not in body
    assert "Idle Ida" not in body and "Casey Bystander" not in body

    beas = mod_client.get(LOG, {"moderator__id__exact": bea.pk}).content.decode()
    assert "Decided by Bea" in beas and "Decided by Morgan" not in beas


def test_the_decision_log_filters_by_period_without_listing_years(mod_client, moderator):
    with time_machine.travel(timezone.now() - dt.timedelta(days=400)):
        publish(ReviewFactory(title="Decided last year"), moderator)
    publish(ReviewFactory(title="Decided today"), moderator)

    with CaptureQueriesContext(connection) as queries:
        body = mod_client.get(LOG).content.decode()
    assert "Decided last year" in body and "Decided today" in body
    # No date hierarchy: its list of years is a sort of the whole log.
    assert not [sql for sql in _sql(queries) if "DISTINCT" in sql]
    # …but a filter of fixed periods: follow its "Past 7 days" link.
    link = re.search(r'<a href="([^"]*)">Past 7 days</a>', body)
    week = mod_client.get(LOG + html.unescape(link[1])).content.decode()
    assert "Decided today" in week and "Decided last year" not in week


def test_the_export_streams_what_the_filters_show_without_counting_it(mod_client, moderator):
    bea = ModeratorFactory(display_name="Busy Bea")
    for title in ("First by Bea", "Second by Bea"):
        publish(ReviewFactory(title=title), bea)
    publish(ReviewFactory(title="By Morgan"), moderator)

    with CaptureQueriesContext(connection) as queries:
        response = mod_client.get(f"{LOG}export/", {"moderator__id__exact": bea.pk})
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response.streaming
    assert [row[1] for row in rows[1:]] == [bea.email, bea.email]
    assert [row[2] for row in rows[1:]] == ["approve", "approve"]
    assert not [sql for sql in _sql(queries) if "COUNT(" in sql]
