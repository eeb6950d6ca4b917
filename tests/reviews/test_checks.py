"""The automatic checks: what they flag in realistic review text, what they leave alone, and
how a submitted review carries their flags for the moderator (never deciding anything)."""

import datetime as dt

import pytest
from django.utils import timezone

from reviews.checks import Flag, text_flags
from reviews.models import Review, ReviewStatus
from reviews.services import review_revise, review_submit
from tests.factories import ProviderFactory, ReviewFactory, this_month

pytestmark = pytest.mark.django_db

LONG_REVIEW = (
    "I had been putting off a check-up for years because of nerves, but from the moment I "
    "walked in the receptionist put me at ease. The dentist explained what she was looking "
    "for before each step, showed me the x-rays on the screen and never made me feel judged "
    "about the state of my teeth. The hygienist was gentle and thorough, and the follow-up "
    "appointment was booked before I left. Parking is tight, so allow extra time."
)


def flagged(flag, text, bug=""):
    """One example; `bug` marks a known miss of the check (strict xfail documents it)."""
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(text, flag, marks=marks, id=f"{flag}: {text}")


def ordinary(text, bug=""):
    marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
    return pytest.param(text, marks=marks, id=text[:50])


FLAGGED = [
    flagged(Flag.EMAIL, "write to jane.doe@example.co.uk"),
    flagged(Flag.EMAIL, "Complaints go to PRACTICE.MANAGER+nhs@Surgery-Mail.com apparently"),
    flagged(Flag.PHONE, "07700 900123"),
    flagged(Flag.PHONE, "020 7946 0000"),
    flagged(Flag.PHONE, "+44 7700 900123"),
    flagged(Flag.PHONE, "(0161) 496 0000"),
    flagged(Flag.PHONE, "ring 07700900123 after six"),
    flagged(Flag.PHONE, "+447700900123"),
    flagged(Flag.PHONE, "call the branch on 0113 496 0000"),
    flagged(Flag.PHONE, "01632 960000"),
    flagged(Flag.PHONE, "0800 123 4567"),
    flagged(Flag.PHONE, "07700-900-123"),
    flagged(Flag.PHONE, "+44 (0)20 7946 0000"),
    flagged(
        Flag.PHONE,
        "+44 (0) 20 7946 0000",
    ),
    flagged(Flag.LINK, "https://example.com/x"),
    flagged(Flag.LINK, "see http://example.net for the prices"),
    flagged(Flag.LINK, "www.example.org"),
    flagged(Flag.LINK, "visit cheapdeals.co.uk"),
    flagged(Flag.LINK, "Book online at SMILEDEALS.com today"),
    flagged(Flag.LINK, "find us at smile.london or smile.shop"),
    flagged(
        Flag.LINK,
        "cheap whitening at bit.ly/2xYzAbc",
    ),
    flagged(Flag.PROFANITY, "the manager was a complete idiot"),
    flagged(Flag.PROFANITY, "What a load of CRAP this place is"),
    flagged(Flag.PROFANITY, "Absolute Bollocks from start to finish"),
    flagged(Flag.PROFANITY, "an absolute fück-up with my booking"),
    flagged(Flag.PROFANITY, "the receptionist called me a mörön"),
    flagged(Flag.PROFANITY, "total ｓｈｉｔ service"),
    flagged(Flag.PROFANITY, "that idiot’s attitude"),  # typographic apostrophe
    flagged(Flag.PROFANITY, "that idiot's attitude"),
]

NOT_FLAGGED = [
    ordinary("We waited 45 minutes past our appointment time, but the nurse apologised twice."),
    ordinary("The check-up cost £25.50, which felt fair for what was done."),
    ordinary("5 stars from me: the hygienist was thorough and explained everything."),
    ordinary("Seen in Room 12 at 3.30pm, right on time, by a friendly and calm GP."),
    ordinary("I was seen on 12/03/2025 and had my blood test results within a week."),
    ordinary("Dr. Patel's explanation of the treatment options was clear and patient."),
    ordinary("Parking costs £1.20 an hour and the car park was full by 9am."),
    ordinary("Rang the surgery at 08:00 and got through after 20 minutes on hold."),
    ordinary("Three fillings, 2 x-rays and a scale and polish over 2 visits in 2024."),
    ordinary("Open 0800-1800 on weekdays; I was in and out by 09:15."),
    ordinary("I'd give them 4.5 out of 5, and 10/10 for cleanliness."),
    ordinary("Paid £1,050.00 for the crown, e.g. about what St. John's Wood charges."),
    ordinary("Ward 7B staff were wonderful during my 3 night stay in 2023."),
    ordinary("The receptionist was on the phone for ages but the website was easy to use."),
    ordinary("The assessment in Scunthorpe was thorough and the therapist very classy."),
    ordinary("My NHS number is on the letter they sent, i.e. nothing was lost."),
    ordinary("The plumber, from a firm in the U.K. Midlands, fixed the boiler in 2 hours."),
    ordinary(
        "I barely felt the prick of the needle and the nurse chatted the whole time.",
    ),
    ordinary(
        "The staff were lovely.Info about parking was missing from the letter though.",
    ),
]


@pytest.mark.parametrize(("text", "flag"), FLAGGED)
def test_the_text_is_flagged(text, flag):
    assert text_flags(text) == [flag]


@pytest.mark.parametrize("text", NOT_FLAGGED)
def test_ordinary_review_text_is_not_flagged(text):
    assert text_flags(text) == []


def test_an_email_address_is_not_also_counted_as_a_link():
    assert text_flags("write to jane.doe@example.co.uk or www.example.org") == [
        Flag.EMAIL,
        Flag.LINK,
    ]
    assert Flag.LINK not in text_flags("write to jane.doe@example.co.uk")


# --- through review_submit ---------------------------------------------------------------
@pytest.fixture
def provider(db):
    return ProviderFactory(name="Smile Dental Practice")


@pytest.fixture
def submit(customer, provider):
    def submit(**overrides):
        data = {
            "author": customer,
            "provider": provider,
            "rating": 3,
            "title": "A mixed visit",
            "body": LONG_REVIEW,
            "visit_month": this_month(),
            **overrides,
        }
        return review_submit(**data)

    return submit


def test_a_clean_review_is_submitted_without_flags(submit):
    assert submit().flags == []


def test_the_title_is_checked_too(submit):
    review = submit(title="Ring 07700 900123 instead")
    assert Review.objects.get(pk=review.pk).flags == [Flag.PHONE]


def test_flags_are_stored_for_the_moderator_and_decide_nothing(submit):
    review = submit(body=f"{LONG_REVIEW} Email me at jane.doe@example.co.uk, crap parking.")
    review.refresh_from_db()
    assert review.flags == [Flag.EMAIL, Flag.PROFANITY]
    assert review.status == ReviewStatus.PENDING and review.published_at is None


def _rewrite_case_and_punctuation(text):
    return text.upper().replace(",", "").replace(".", "!!").replace("-", " ")


def _change_one_word(text):
    return text.replace("gentle", "careful", 1)


DUPLICATES = {
    "the same text": (lambda text: text, True),
    "the same text in other case and punctuation": (_rewrite_case_and_punctuation, True),
    "one word changed": (_change_one_word, True),
    "an unrelated text": (
        lambda text: (
            "The boiler engineer arrived late, left mud on the carpet and the fault came back "
            "within a week. Two more visits before it was fixed properly."
        ),
        False,
    ),
}


@pytest.mark.parametrize("case", sorted(DUPLICATES))
def test_a_copy_of_another_review_of_the_provider_is_flagged(case, submit, provider):
    ReviewFactory(provider=provider, body=LONG_REVIEW)
    change, flagged = DUPLICATES[case]
    assert _change_one_word(LONG_REVIEW) != LONG_REVIEW
    review = submit(body=change(LONG_REVIEW))
    assert (Flag.DUPLICATE in review.flags) is flagged


@pytest.mark.parametrize("case", sorted(DUPLICATES))
def test_a_copy_of_the_authors_review_of_another_provider_is_flagged(case, submit, customer):
    ReviewFactory(author=customer, body=LONG_REVIEW)
    change, flagged = DUPLICATES[case]
    review = submit(body=change(LONG_REVIEW))
    assert (Flag.DUPLICATE in review.flags) is flagged


def test_editing_a_review_does_not_compare_it_with_itself(submit, customer):
    review = submit()
    revised = review_revise(
        review=review,
        author=customer,
        rating=4,
        title="Better than I said",
        body=_change_one_word(LONG_REVIEW),
        visit_month=this_month(),
    )
    assert Flag.DUPLICATE not in revised.flags


# --- bursts ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("earlier", "minutes_ago", "flagged"),
    [(10, 5, True), (15, 59, True), (9, 5, False), (10, 61, False)],
)
def test_many_reviews_of_one_provider_within_the_hour_flag_the_next(
    earlier, minutes_ago, flagged, submit, provider
):
    when = timezone.now() - dt.timedelta(minutes=minutes_ago)
    for _ in range(earlier):
        ReviewFactory(provider=provider, submitted_at=when)
    review = submit()
    assert (Flag.BURST_PROVIDER in review.flags) is flagged
    assert review.status == ReviewStatus.PENDING


@pytest.mark.parametrize(
    ("other_providers", "hours_ago", "flagged"),
    [(5, 1, True), (7, 23, True), (4, 1, False), (5, 25, False)],
)
def test_one_author_reviewing_many_providers_in_a_day_flags_the_next(
    other_providers, hours_ago, flagged, submit, customer
):
    when = timezone.now() - dt.timedelta(hours=hours_ago)
    for _ in range(other_providers):
        ReviewFactory(author=customer, submitted_at=when)
    review = submit()
    assert (Flag.BURST_AUTHOR in review.flags) is flagged


def test_many_reviews_of_one_other_provider_are_no_author_burst(submit, customer):
    other = ProviderFactory()
    for _ in range(6):
        ReviewFactory(author=customer, provider=other, status=ReviewStatus.WITHDRAWN)
    assert Flag.BURST_AUTHOR not in submit().flags
