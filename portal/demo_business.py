"""The business side of the demo: owner@example.com runs one well-reviewed provider with a
small team, has replied in public to most of its reviews, and has a history of complaint
tickets (most put right, some open, one escalated to staff), so `make demo` shows a working
dashboard, complaint outcomes on reviews and "You said, we did".

Everything goes through the services, as it would on the live site. Only two things differ:
the clock is set to when each step happened (the services stamp rows with the current time,
and a demo whose complaints were all answered today would be a poor picture), and nobody is
emailed about history being written. Idempotent: a second run finds its rows and adds nothing.
"""

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from allauth.account.models import EmailAddress
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from responses.models import Membership, Reply, Role, Ticket, TicketStatus
from responses.services.claims import claim_decide, claim_submit
from responses.services.replies import reply_moderate, reply_submit
from responses.services.team import team_invite, team_join
from responses.services.tickets import (
    HOLDING_AFTER,
    complaint_submit,
    sla_check,
    ticket_answer_put_right,
    ticket_assign,
    ticket_message,
    ticket_open,
    ticket_record_change,
    ticket_transition,
)
from reviews.models import Provider, Review, ReviewStatus

S = TicketStatus
OWNER_EMAIL = "owner@example.com"
OWNER_TITLE = "Practice manager"
RESPONDER = ("responder@example.com", "Riley Responder", "demo-responder-pass")
RESPONDER_TITLE = "Patient liaison"
CUSTOMER_EMAIL = "customer@example.com"
REVIEWER_DOMAIN = "@reviewers.example.net"
# Categories where "Practice manager" is a natural title; any category will do if none fits.
PRACTICE_CATEGORIES = ["gp-practices", "dentists", "vets", "opticians", "pharmacies"]
MIN_REVIEWS = 8
REPLY_SHARE = {1: 0.95, 2: 0.95, 3: 0.8, 4: 0.6, 5: 0.55}
# Complaints older than this have run their course; newer ones are still open.
SETTLED_AFTER = dt.timedelta(days=30)
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
# The team was in place before the oldest seeded review (seed_demo's go back two years).
TEAM_SINCE = 760 * DAY

REPLIES = {
    "good": [
        "Thank you for taking the time to write this. We have shared it with the whole team, "
        "who will be delighted to read it.",
        "Thank you for your kind words. It means a great deal to the team to hear that we got "
        "it right for you.",
        "We are really pleased it went well, and thank you for telling others. We look forward "
        "to seeing you again.",
        "Thank you. We work hard to make every visit feel unhurried, so it is lovely to hear "
        "that it did.",
    ],
    "mixed": [
        "Thank you for such a fair review. You are right that the booking side lets us down at "
        "times, and we are working on it; we are glad the care itself was good.",
        "Thank you for the feedback, the good and the less good. We have passed your comments "
        "on waiting times to the team that organises the rota.",
    ],
    "bad": [
        "We are sorry to read this; it is not the experience we want anyone to have. We have "
        "been in touch privately through Heard to understand what happened and put it right.",
        "Thank you for telling us, and we are sorry. We have opened your complaint and are "
        "talking to you directly; we will share here what we change as a result.",
    ],
}
# The business's first answer, and what the customer says back.
EXCHANGES = [
    (
        "Thank you for getting in touch, and we are sorry. I am looking into this now and will "
        "come back to you within a day.",
        "Thank you for coming back to me so quickly.",
    ),
    (
        "I am sorry this happened. Could you tell me roughly what time you called, so I can "
        "check our phone records?",
        "It was mid-morning, around eleven. I was on hold for a long time before being cut off.",
    ),
    (
        "Thank you for raising this. I have asked the team involved for their account and will "
        "update you tomorrow.",
        "I appreciate that. I just want to know it will not happen again.",
    ),
]
RESOLUTIONS = [
    "We have apologised, refunded the charge in full and booked you in with the person of "
    "your choice at a time that suits you.",
    "We found that your request was never passed on between shifts. We have apologised, "
    "sorted your appointment, and changed how requests are handed over.",
    "We have spoken to the member of staff involved, apologised, and arranged a follow-up "
    "call with our practice manager.",
]
CHANGES_MADE = [
    "Every call-back request now goes on one shared list that the duty team checks twice a "
    "day, so none is lost between shifts.",
    "We now text you when we are running more than 20 minutes late, with the option to rebook.",
    "Costs are now written down and agreed before any treatment starts.",
    "We have added a second person on the front desk from 8 to 10 each morning, our busiest time.",
    "Complaints are now acknowledged within one working day, by name, with a date for a full "
    "answer.",
]
INTERNAL_NOTES = [
    "Checked the phone logs: the call was dropped after 22 minutes. Speaking to the supplier.",
    "Same issue as last month's complaint; worth raising at Thursday's team meeting.",
]
# Private complaints (never public): (who, subject, message, story, opened this long ago).
PRIVATE = [
    (
        "customer",
        "Charged for an appointment I cancelled",
        "I cancelled my appointment two days ahead by phone, but I was still charged the full "
        "fee. Please refund it.",
        "awaiting_confirmation",
        6 * DAY,
    ),
    (
        "reviewer",
        "Referral letter never sent",
        "I was told my referral would be sent the same week. Six weeks later the hospital still "
        "has nothing.",
        "escalated",
        9 * DAY,
    ),
    (
        "reviewer",
        "Spoken to rudely at the front desk",
        "When I asked why I had waited forty minutes I was told to sit down and stop making a "
        "fuss, in front of everyone.",
        "asked_customer",
        3 * DAY,
    ),
    (
        "reviewer",
        "Results not passed on",
        "My test results came back a fortnight ago, and nobody has told me what they mean.",
        "overdue",
        16 * DAY,
    ),
    (
        "reviewer",
        "Phone line cuts off",
        "Three mornings running I have been cut off after twenty minutes on hold.",
        "new_assigned",
        40 * MINUTE,
    ),
    (
        "reviewer",
        "Wrong prescription strength",
        "I was given 20 mg instead of the 10 mg on my repeat prescription.",
        "new",
        95 * MINUTE,
    ),
]


@contextmanager
def _clock(at: dt.datetime) -> Iterator[None]:
    """Set the time the services see (and stamp on their rows) to `at`."""
    with mock.patch("django.utils.timezone.now", new=lambda: at):
        yield


@contextmanager
def _no_emails() -> Iterator[None]:
    # The demo's history is written after the fact: telling the customers and businesses in
    # it now would be wrong (and the console backend would print dozens of messages).
    with mock.patch("portal.emails._deliver_on_commit", new=lambda **kwargs: None):
        yield


class _Story:
    """Steps of one complaint at given moments. Before each step the deadline watch runs at
    that moment, as the minutely check_sla would have, so holding acknowledgements, breaches
    and automatic closes appear in the history when they would have happened."""

    def __init__(self, ticket: Ticket, now: dt.datetime):
        self.ticket, self.now = ticket, now

    def at(self, moment: dt.datetime, action=None) -> bool:
        if moment >= self.now:
            return False  # the future has not happened yet
        with _clock(moment):
            sla_check()
            if action is not None:
                action(self.ticket)
            self.ticket.refresh_from_db()
        return True


def seed_business(*, rng: random.Random, moderator: User, stdout) -> None:
    """Called at the end of seed_demo, once its users, providers, reviews and figures exist."""
    owner = User.objects.filter(email=OWNER_EMAIL).first()
    if owner is None:
        return
    now = timezone.now()
    # All or nothing: a run that fails half-way leaves no half-told stories for the next run
    # to skip over.
    with transaction.atomic(), _no_emails():
        provider = _owned_provider(owner, moderator, now)
        if provider is None:
            stdout.write("Business demo skipped: no provider has enough reviews yet.")
            return
        responder = _responder(provider, owner, now)
        team = [owner, responder]
        # Replies are chosen at random; a rerun would choose among the rest, so it makes none.
        replies = 0
        if not Reply.objects.filter(provider=provider).exists():
            replies = _replies(rng, provider, team, moderator, now)
        tickets = _review_tickets(rng, provider, team, now)
        tickets += _private_complaints(rng, provider, team, now)
    stdout.write(
        f"Business demo: {owner.email} owns “{provider.name}” (/business/), with "
        f"{RESPONDER[0]} / {RESPONDER[2]} on the team; {replies} replies and {tickets} "
        f"complaint tickets created."
    )
    with transaction.atomic(), _no_emails():
        others = _other_businesses(rng, moderator, now, exclude=provider)
    if others:
        stdout.write(f"Other businesses answering their reviews: {others}.")


# --- other businesses that answer (so /stats/ has responsive providers to rank) ------------------
OTHER_BUSINESSES = 12
OTHER_DOMAIN = "@businesses.example.net"
# (share of reviews answered, fastest and slowest reply in hours): from keen to reluctant
OTHER_STYLES = [(1.0, 1, 12), (0.9, 4, 30), (0.7, 12, 72), (0.5, 24, 200), (0.3, 72, 400)]


def _other_businesses(rng, moderator, now, *, exclude) -> int:
    """Claim the busiest listings for generated business users (through the claim service, as
    staff would approve them) and answer their reviews in different styles. Idempotent: a
    listing that already has replies is left alone."""
    pool = (
        Provider.objects.filter(is_active=True, review_count__gte=MIN_REVIEWS)
        .exclude(pk=exclude.pk)
        .order_by("-review_count", "slug")[:OTHER_BUSINESSES]
    )
    answered = 0
    for n, provider in enumerate(pool):
        if Reply.objects.filter(provider=provider).exists():
            continue
        email = f"{provider.slug}{OTHER_DOMAIN}"
        user, created = User.objects.get_or_create(
            email=email, defaults={"display_name": f"Manager at {provider.name}"[:80]}
        )
        if created:
            user.set_unusable_password()
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        if not Membership.objects.filter(provider=provider, user=user).exists():
            with _clock(now - TEAM_SINCE):
                claim = claim_submit(
                    user=user,
                    provider=provider,
                    role_at_business="Manager",
                    work_email=email,
                    evidence="Listed as the manager on the business's own website.",
                )
            with _clock(now - TEAM_SINCE + DAY):
                claim_decide(claim=claim, moderator=moderator, decision="approve")
        share, fastest, slowest = OTHER_STYLES[n % len(OTHER_STYLES)]
        answered += _replies(
            rng, provider, [user], moderator, now, share=share, hours=(fastest, slowest)
        )
    return answered


# --- the business and its team -------------------------------------------------------------
def _pick_provider() -> Provider | None:
    """Deterministically, from what is in the database: among the providers with the most
    reviews (practices first, as the owner is a practice manager), the best rated."""
    low = Q(reviews__status=ReviewStatus.PUBLISHED, reviews__rating__lte=2)
    pool = Provider.objects.filter(is_active=True, review_count__gte=MIN_REVIEWS).annotate(
        low_reviews=Count("reviews", filter=low)
    )
    pool = pool.filter(low_reviews__gte=1)
    for candidates in (pool.filter(category__slug__in=PRACTICE_CATEGORIES), pool):
        top = list(candidates.order_by("-review_count", "slug")[:5])
        if top:
            return max(top, key=lambda p: (p.score, p.review_count, p.slug))
    return None


def _owned_provider(owner: User, moderator: User, now) -> Provider | None:
    """The owner's provider: the one they already own, or one they claim and staff approve."""
    membership = (
        Membership.objects.filter(user=owner, role=Role.OWNER).order_by("created_at").first()
    )
    if membership:
        return membership.provider
    provider = _pick_provider()
    if provider is None:
        return None
    domain = provider.website.split("www.")[-1].strip("/") if provider.website else "example.com"
    with _clock(now - TEAM_SINCE):
        claim = claim_submit(
            user=owner,
            provider=provider,
            role_at_business=OWNER_TITLE,
            work_email=f"manager@{domain}",
            evidence="Named as practice manager on our website's team page; call the main "
            "number and ask for me.",
        )
    with _clock(now - TEAM_SINCE + DAY):
        claim_decide(claim=claim, moderator=moderator, decision="approve")
    return provider


def _responder(provider: Provider, owner: User, now) -> User:
    email, name, password = RESPONDER
    user, created = User.objects.get_or_create(email=email, defaults={"display_name": name})
    if created:
        user.set_password(password)
        user.date_joined = now - TEAM_SINCE + 5 * DAY
        user.save()
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
    if not Membership.objects.filter(provider=provider, user=user).exists():
        with _clock(now - TEAM_SINCE + 10 * DAY):
            invitation = team_invite(
                provider=provider,
                actor=owner,
                email=email,
                role=Role.RESPONDER,
                job_title=RESPONDER_TITLE,
            )
        with _clock(now - TEAM_SINCE + 11 * DAY):
            team_join(token=invitation.token, user=user)
    return user


# --- public replies ----------------------------------------------------------------------------
def _replies(rng, provider, team, moderator, now, *, share=None, hours=(3, 60)) -> int:
    """Replies to most reviews, a day or two after each was published; the newest may still be
    with the moderators, and the very newest are still waiting in the inbox."""
    reviews = (
        Review.objects.filter(provider=provider, status=ReviewStatus.PUBLISHED, reply__isnull=True)
        .select_related("author")
        .order_by("published_at", "pk")
    )
    made = 0
    for review in reviews:
        if rng.random() > (REPLY_SHARE[review.rating] if share is None else share):
            continue
        mood = "good" if review.rating >= 4 else "bad" if review.rating <= 2 else "mixed"
        submitted = review.published_at + dt.timedelta(hours=rng.uniform(*hours))
        decided = submitted + dt.timedelta(hours=rng.uniform(1, 14))
        if submitted >= now:
            continue
        with _clock(submitted):
            reply = reply_submit(
                review=review, actor=rng.choice(team), body=rng.choice(REPLIES[mood])
            )
        made += 1
        if decided < now:
            with _clock(decided):
                reply_moderate(reply=reply, moderator=moderator, decision="approve")
    return made


# --- complaint tickets ---------------------------------------------------------------------------
def _review_tickets(rng, provider, team, now) -> int:
    """A ticket for each published 1–2★ review (seeded reviews were written straight to the
    table, so theirs were never opened), opened when the review was submitted; older ones have
    run their course, the newest are still being worked on."""
    reviews = list(
        Review.objects.filter(
            provider=provider,
            status=ReviewStatus.PUBLISHED,
            rating__lte=2,
            ticket__isnull=True,
        )
        .select_related("author")
        .order_by("submitted_at", "pk")
    )
    for review in reviews:
        with _clock(review.submitted_at):
            ticket = ticket_open(
                provider=provider,
                customer=review.author,
                source="low_rating",
                subject=review.title,
                message=review.body,
                review=review,
            )
        story = _Story(ticket, now)
        if now - review.submitted_at > SETTLED_AFTER:
            _settled(rng, story, team, review.author)
        else:
            _in_progress(rng, story, team, review.author)
    return len(reviews)


def _answer(rng, story: _Story, team, after: dt.timedelta) -> tuple[dt.datetime, str]:
    """The business's first answer and the start of work: when work started, and what the
    customer would say back."""
    member = rng.choice(team)
    answer, reply = rng.choice(EXCHANGES)
    opened = story.ticket.created_at
    if after > HOLDING_AFTER + MINUTE:  # the watch acknowledged it while nobody had answered
        story.at(opened + HOLDING_AFTER + MINUTE)
    t = opened + after
    story.at(t, lambda tk: ticket_message(ticket=tk, actor=member, body=answer))
    story.at(t + MINUTE, lambda tk: ticket_transition(ticket=tk, to=S.IN_PROGRESS, actor=member))
    return t, reply


def _propose(rng, story: _Story, team, at: dt.datetime, summary: str | None = None) -> None:
    member = rng.choice(team)
    note = summary or rng.choice(RESOLUTIONS)
    story.at(at, lambda tk: ticket_transition(ticket=tk, to=S.RESOLVED, actor=member, note=note))


def _settled(rng, story: _Story, team, customer) -> None:
    """A complaint that has run its course: confirmed by the customer, closed on its own after
    14 days without an answer, or rejected once and then put right."""
    owner = team[0]
    started, reply = _answer(rng, story, team, dt.timedelta(hours=rng.uniform(0.5, 6)))
    story.at(started + 6 * HOUR, lambda tk: ticket_message(ticket=tk, actor=customer, body=reply))
    if rng.random() < 0.3:
        note = rng.choice(INTERNAL_NOTES)
        story.at(
            started + 8 * HOUR,
            lambda tk: ticket_message(ticket=tk, actor=owner, body=note, internal=True),
        )
    proposed = started + dt.timedelta(days=rng.uniform(1.5, 5))
    _propose(rng, story, team, proposed)
    outcome = rng.choices(["confirmed", "silent", "rejected"], [6, 2, 1])[0]
    if outcome == "rejected":
        story.at(
            proposed + DAY,
            lambda tk: ticket_transition(ticket=tk, to=S.IN_PROGRESS, actor=customer),
        )
        proposed += 3 * DAY
        _propose(rng, story, team, proposed, summary=RESOLUTIONS[0])
    if rng.random() < 0.6:  # what they changed, stated as they proposed the resolution
        change = rng.choice(CHANGES_MADE)
        story.at(
            proposed + 2 * HOUR,
            lambda tk: ticket_record_change(ticket=tk, actor=owner, text=change),
        )
    if outcome in ("confirmed", "rejected"):
        closed = proposed + dt.timedelta(days=rng.uniform(0.5, 3))
        story.at(closed, lambda tk: ticket_transition(ticket=tk, to=S.CLOSED, actor=customer))
        answer = "partly" if outcome == "rejected" else rng.choice(["yes", "yes", "partly"])
        if rng.random() < 0.7:
            story.at(
                closed + HOUR,
                lambda tk: ticket_answer_put_right(ticket=tk, actor=customer, answer=answer),
            )
    else:
        story.at(proposed + 14 * DAY + MINUTE)  # the watch closes it, as it would have


def _in_progress(rng, story: _Story, team, customer) -> None:
    """A recent complaint the business is still working on."""
    started, reply = _answer(rng, story, team, dt.timedelta(hours=rng.uniform(0.5, 1.5)))
    story.at(started + 5 * HOUR, lambda tk: ticket_message(ticket=tk, actor=customer, body=reply))
    note = rng.choice(INTERNAL_NOTES)
    story.at(
        started + DAY,
        lambda tk: ticket_message(ticket=tk, actor=team[0], body=note, internal=True),
    )
    story.at(story.ticket.resolution_due + MINUTE)  # the watch records the missed deadline


def _reviewers_for_complaints(provider: Provider, count: int) -> list[User]:
    """Generated customers who have not reviewed this provider (their reviews have tickets of
    their own), in a fixed order."""
    return list(
        User.objects.filter(email__endswith=REVIEWER_DOMAIN)
        .exclude(reviews__provider=provider)
        .exclude(memberships__provider=provider)
        .order_by("pk")[:count]
    )


def _private_complaints(rng, provider, team, now) -> int:
    """Complaints made privately from the provider page, recent enough to still be open: one
    for the demo customer to answer, one escalated to staff, one overdue, new ones."""
    reviewers = iter(_reviewers_for_complaints(provider, len(PRIVATE)))
    demo_customer = User.objects.filter(email=CUSTOMER_EMAIL).first()
    made = 0
    for who, subject, message, plot, ago in PRIVATE:
        customer = demo_customer if who == "customer" else next(reviewers, None)
        if customer is None:
            continue
        if Ticket.objects.filter(provider=provider, customer=customer, subject=subject).exists():
            continue
        with _clock(now - ago):
            ticket = complaint_submit(
                provider=provider, customer=customer, subject=subject, message=message
            )
        made += 1
        _private_story(rng, _Story(ticket, now), team, customer, plot)
    return made


def _private_story(rng, story: _Story, team, customer, plot: str) -> None:
    owner, responder = team
    opened = story.ticket.created_at
    if plot == "new":
        return
    if plot == "new_assigned":
        story.at(
            opened + 5 * MINUTE,
            lambda tk: ticket_assign(ticket=tk, actor=owner, assignee=responder),
        )
        return
    started, _reply = _answer(rng, story, team, HOUR)
    if plot == "asked_customer":
        question = (
            "I am sorry. So that I can speak to the right person, could you tell me the day "
            "and roughly the time this happened?"
        )
        story.at(
            started + DAY,
            lambda tk: ticket_transition(
                ticket=tk, to=S.AWAITING_CUSTOMER, actor=responder, note=question
            ),
        )
    elif plot == "overdue":
        story.at(
            started + 2 * DAY,
            lambda tk: ticket_message(
                ticket=tk, actor=owner, body=INTERNAL_NOTES[0], internal=True
            ),
        )
        story.at(story.ticket.resolution_due + MINUTE)  # the watch records the missed deadline
    elif plot == "awaiting_confirmation":
        _propose(rng, story, team, story.now - 2 * DAY, summary=RESOLUTIONS[0])
    elif plot == "escalated":
        _propose(rng, story, team, opened + 4 * DAY, summary=RESOLUTIONS[1])
        story.at(
            opened + 6 * DAY,
            lambda tk: ticket_transition(ticket=tk, to=S.IN_PROGRESS, actor=customer),
        )
        story.at(
            opened + 7 * DAY,
            lambda tk: ticket_transition(
                ticket=tk,
                to=S.ESCALATED,
                actor=customer,
                note="The letter still has not arrived at the hospital. I need someone else "
                "to look at this.",
            ),
        )
