"""The world tests/e2e/test_axe_every_page.py checks every page in: one GP practice with a
team and a year of reviews, a customer with something in every state, and work waiting in
every moderation queue. Built through the services, as real use would leave it."""

import datetime as dt
import time
from importlib import import_module

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.utils import timezone
from django.utils.text import slugify

from responses.models import BusinessEvent, ProviderClaim, ResponseTemplate, Ticket, TicketEvent
from responses.services import claims as claim_services
from responses.services import replies as reply_services
from responses.services import team as team_services
from responses.services import tickets as ticket_services
from responses.services.invitations import invitation_link_create, invitations_send
from reviews.models import (
    AspectQuestion,
    Category,
    Invitation,
    ModerationDecision,
    Review,
    ReviewRevision,
)
from reviews.services import alerts as alert_services
from reviews.services import content as review_services
from reviews.services import engagement, moderation
from tests.factories import ModeratorFactory, ProviderFactory, UserFactory

GP_ASPECTS = [
    ("appointments", "How easy was it to get an appointment?"),
    ("listening", "Did they listen to you?"),
    ("cleanliness", "How clean was the surgery?"),
]
TOWNS = ["Leeds", "York", "Harrogate", "Bradford", "Wakefield", "Halifax"]
PRAISE = [
    (
        "Seen on time, kind nurse",
        "I was seen within five minutes of my appointment time and "
        "the nurse took the time to explain my blood test results properly.",
    ),
    (
        "Easy online booking",
        "Booked a same-week appointment through the website in two minutes. "
        "The doctor was thorough and followed up with a call the next day.",
    ),
    (
        "Reception were brilliant",
        "My mum is hard of hearing and the receptionist came round the "
        "desk to talk to her face to face. Small things like that matter.",
    ),
    (
        "Good with children",
        "The GP got down to my son's level and made the injection a game. "
        "He left smiling, which I did not expect.",
    ),
]
GRUMBLES = [
    (
        "Long wait on the phone",
        "Thirty minutes in the phone queue at 8am before anyone answered, "
        "and by then the same-day appointments had gone.",
    ),
    (
        "Prescription not ready twice",
        "I was told my repeat prescription would be ready on "
        "Tuesday. It was not ready on Tuesday or on Thursday, and nobody called to say why.",
    ),
    (
        "Felt rushed",
        "The appointment lasted four minutes and I left without an answer to the "
        "question I came in with. The doctor looked at the screen the whole time.",
    ),
]


def _month(months_ago: int) -> dt.date:
    return review_services.add_months(timezone.localdate().replace(day=1), -months_ago)


def _review(provider, author, rating, title, body, *, months_ago=1, **kw) -> Review:
    return review_services.review_submit(
        author=author,
        provider=provider,
        rating=rating,
        title=title,
        body=body,
        visit_month=_month(months_ago),
        **kw,
    )


def _published(provider, author, rating, title, body, moderator, **kw) -> Review:
    review = _review(provider, author, rating, title, body, **kw)
    return moderation.review_moderate(review=review, moderator=moderator, decision="approve")


def _reply(review, member, moderator, body, *, decision="approve", reason=""):
    reply = reply_services.reply_submit(review=review, actor=member, body=body)
    return reply_services.reply_moderate(
        reply=reply, moderator=moderator, decision=decision, reason=reason
    )


def session_for(user, *, user_agent="Mozilla/5.0 (X11; Linux x86_64) Chromium") -> str:
    """A signed-in session made on the server, as a password sign-in would leave it (with
    allauth's record of when, so that pages asking for a recent sign-in show themselves)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["account_authentication_methods"] = [
        {"method": "password", "at": time.time(), "email": user.email}
    ]
    store["account_authentication_methods_user"] = str(user.pk)
    store.create()
    UserSession.objects.create(
        user=user, session_key=store.session_key, ip="127.0.0.1", user_agent=user_agent
    )
    return store.session_key


def build_world() -> dict:
    """Riverside Surgery with a team, two dozen reviews (replies, complaints and their
    outcomes, an invited one), a customer with a review in every state and tickets in several,
    and something waiting in every moderation queue. Returns what the URLs and roles need."""
    moderator = ModeratorFactory(display_name="Morgan Moderator")
    superuser = UserFactory(is_staff=True, is_superuser=True, display_name="Sue Superuser")
    gp = Category.objects.create(name="GP practices", slug="gp-practices")
    for position, (code, text) in enumerate(GP_ASPECTS):
        AspectQuestion.objects.create(category=gp, code=code, text=text, position=position)
    dentists = Category.objects.create(name="Dentists", slug="dentists")
    pharmacies = Category.objects.create(name="Pharmacies", slug="pharmacies")

    provider = ProviderFactory(
        name="Riverside Surgery",
        slug="riverside-surgery",
        category=gp,
        address_line1="12 Canal Wharf",
        town="Leeds",
        postcode="LS11 5PS",
        phone="0113 496 0000",
        website="https://riverside-surgery.example",
        description="An NHS GP practice of nine doctors by the canal, open 8am to 6.30pm.",
    )
    hilltop = ProviderFactory(
        name="Hilltop Pharmacy", slug="hilltop-pharmacy", category=pharmacies, town="York"
    )
    bright = ProviderFactory(
        name="Bright Smile Dental", slug="bright-smile-dental", category=dentists, town="Leeds"
    )
    others = [
        ProviderFactory(
            name=f"{name} {kind}",
            slug=slugify(f"{name} {kind}"),
            category=category,
            town=TOWNS[i % len(TOWNS)],
        )
        for i, (name, kind, category) in enumerate(
            (n, k, c)
            for n in (
                "Oakwood",
                "Meadow",
                "Kirkgate",
                "Parkside",
                "Station Road",
                "Abbey",
                "Castle",
                "Elm Tree",
            )
            for k, c in (("Medical Centre", gp), ("Dental Care", dentists), ("Chemist", pharmacies))
        )
    ]

    # The business: an owner through an approved claim, a manager and a responder.
    owner = UserFactory(display_name="Olive Owner", email="olive@riverside-surgery.example")
    claim = claim_services.claim_submit(
        user=owner,
        provider=provider,
        role_at_business="Practice manager",
        work_email="olive@riverside-surgery.example",
        evidence="Named as practice manager on the practice website's staff page.",
    )
    claim_services.claim_decide(claim=claim, moderator=moderator, decision="approve")
    manager = UserFactory(display_name="Mia Manager", email="mia@riverside-surgery.example")
    responder = UserFactory(display_name="Rory Responder", email="rory@riverside-surgery.example")
    for person, role, job in (
        (manager, "manager", "Deputy manager"),
        (responder, "responder", "Patient liaison"),
    ):
        invitation = team_services.team_invite(
            provider=provider, actor=owner, email=person.email, role=role, job_title=job
        )
        team_services.team_join(token=invitation.token, user=person)
    team_invitation = team_services.team_invite(
        provider=provider, actor=owner, email="new.receptionist@example.com", role="responder"
    )
    for name, body in (
        ("Thank you", "Thank you for taking the time to tell us about your visit."),
        ("Apology with action", "I'm sorry this was not the standard we aim for. We have ..."),
    ):
        reply_services.response_template_save(provider=provider, actor=owner, name=name, body=body)
    membership = responder.memberships.get(provider=provider)

    # Invitations to review: sent, used, expired.
    invited = invitations_send(
        provider=provider,
        actor=manager,
        emails=[f"patient{i}@example.com" for i in range(1, 7)],
    )
    invitation_link_create(provider=provider, actor=manager)
    Invitation.objects.filter(pk=invited[-1].pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1)
    )

    # Two dozen published reviews of Riverside by different people; about half answered.
    reviews = []
    for i in range(24):
        author = UserFactory()
        if i % 4 == 3:
            title, body = GRUMBLES[i % len(GRUMBLES)]
            rating = 2 if i % 8 == 3 else 3
        else:
            title, body = PRAISE[i % len(PRAISE)]
            rating = 5 if i % 3 else 4
        reviews.append(
            _published(
                provider,
                author,
                rating,
                title,
                body,
                moderator,
                months_ago=i % 12,
                aspects={code: max(1, rating - j % 2) for j, (code, _t) in enumerate(GP_ASPECTS)},
                would_recommend=rating >= 4,
                invitation=invited[i] if i < 2 else None,
            )
        )
    for review in reviews[::2]:
        _reply(
            review,
            owner if review.rating >= 4 else responder,
            moderator,
            "Thank you for your review. We have shared it with the team."
            if review.rating >= 4
            else "I'm sorry about the wait. We have added a second phone line at 8am.",
        )
    # A rejected reply and a draft, for the dashboard's tabs.
    _reply(
        reviews[1],
        responder,
        moderator,
        "Call us on 0113 496 0000 and ask for me.",
        decision="reject",
        reason="personal_information",
    )
    reply_services.reply_draft(review=reviews[5], actor=responder, body="Thank you for")

    # Complaint outcomes on the public page: one resolved and confirmed, with a change made.
    complaint = reviews[3].ticket
    ticket_services.ticket_message(
        ticket=complaint, actor=responder, body="I'm sorry. Which day did you ring?"
    )
    ticket_services.ticket_transition(
        ticket=complaint,
        to="resolved",
        actor=responder,
        note="We have added a second phone line from 8am.",
    )
    ticket_services.ticket_transition(ticket=complaint, to="closed", actor=reviews[3].author)
    ticket_services.ticket_answer_put_right(ticket=complaint, actor=reviews[3].author, answer="yes")
    ticket_services.ticket_record_change(
        ticket=complaint, actor=manager, text="A second phone line at 8am and call-backs"
    )
    # Helpful votes and a report on the public reviews.
    voters = [UserFactory() for _ in range(3)]
    for voter in voters:
        engagement.review_vote_helpful(review=reviews[0], user=voter)

    # The customer: a review in every state, and tickets in several.
    customer = UserFactory(display_name="Casey Customer", email="casey@example.com")
    other_customer = UserFactory(display_name="Olly Other", email="olly@example.com")
    review = _published(
        provider,
        customer,
        2,
        "Waited three weeks for a call back",
        "I was promised a call back about my test results within two days. It took three "
        "weeks and two more calls from me.",
        moderator,
        wants_resolution=True,
        aspects={"appointments": 2, "listening": 3},
        would_recommend=False,
    )
    ticket = review.ticket
    ticket_services.ticket_transition(ticket=ticket, to="acknowledged", actor=responder)
    ticket_services.ticket_message(
        ticket=ticket, actor=responder, body="I'm sorry about this. I am looking into it today."
    )
    ticket_services.ticket_message(
        ticket=ticket,
        actor=manager,
        body="Check the results inbox rota for that week.",
        internal=True,
    )
    ticket_services.ticket_message(
        ticket=ticket, actor=customer, body="Thank you. It was the week of the 3rd."
    )
    ticket_services.ticket_assign(ticket=ticket, actor=manager, assignee=responder)
    ticket_services.ticket_transition(ticket=ticket, to="in_progress", actor=responder)
    _published(
        bright,
        customer,
        5,
        "Painless filling",
        "The dentist explained each step and checked I was comfortable. Painless.",
        moderator,
    )
    pending = _review(
        hilltop,
        customer,
        4,
        "Friendly pharmacist",
        "The pharmacist spotted an interaction between two of my medicines and called my GP.",
    )
    rejected = _review(
        others[0],
        customer,
        1,
        "Dr Smith is useless",
        "Dr Smith at this practice is useless and should be struck off. Ring me on 07700 900123.",
    )
    moderation.review_moderate(
        review=rejected,
        moderator=moderator,
        decision="reject",
        reason="personal_information",
        note="Please leave out names and phone numbers.",
    )
    withdrawn = _published(
        others[1],
        customer,
        3,
        "Fine but expensive",
        "A good check-up, but the hygienist appointment cost more than I was told it would.",
        moderator,
    )
    review_services.review_withdraw(review=withdrawn, author=customer)
    revised = _published(
        others[2],
        customer,
        3,
        "Slow service",
        "I waited twenty minutes for a prescription that was already made up.",
        moderator,
    )
    review_services.review_revise(
        review=revised,
        author=customer,
        rating=4,
        title="Slow service, but they said sorry",
        body="I waited twenty minutes for a prescription that was already made up, but the "
        "manager apologised and explained they were short-staffed.",
        visit_month=revised.visit_month,
    )
    private = ticket_services.complaint_submit(
        provider=provider,
        customer=customer,
        subject="Rude receptionist",
        message="The receptionist rolled her eyes when I asked for an interpreter.",
    )
    ticket_services.ticket_transition(
        ticket=private,
        to="awaiting_customer",
        actor=responder,
        note="Which day was this, and at what time?",
    )
    resolved = ticket_services.complaint_submit(
        provider=bright,
        customer=customer,
        subject="Charged twice",
        message="My card was charged twice for the same check-up.",
    )
    bright_owner = UserFactory(display_name="Ben Bright")
    claim = claim_services.claim_submit(
        user=bright_owner,
        provider=bright,
        role_at_business="Owner",
        work_email="ben@bright-smile.example",
        evidence="I am the registered owner.",
    )
    claim_services.claim_decide(claim=claim, moderator=moderator, decision="approve")
    ticket_services.ticket_transition(
        ticket=resolved,
        to="resolved",
        actor=bright_owner,
        note="We have refunded the second payment.",
    )

    # Tickets in the business's queue in the other states, one of them escalated.
    late = Ticket.objects.get(
        pk=ticket_services.ticket_open(
            provider=provider,
            customer=other_customer,
            source="private",
            subject="Lost referral",
            message="My referral letter was never sent to the hospital.",
            now=timezone.now() - dt.timedelta(days=5),
        ).pk
    )
    ticket_services.ticket_transition(ticket=late, to="escalated", actor=other_customer)
    ticket_services.ticket_open(
        provider=provider,
        customer=voters[0],
        source="private",
        subject="Blood test lost",
        message="The surgery lost my blood sample and I had to come back.",
    )

    # Something waiting in every moderation queue.
    flagged = _review(
        provider,
        other_customer,
        1,
        "Never again",
        "Worst surgery in Leeds. Email me at olly@example.com and I'll tell you everything.",
    )
    revision_review = reviews[4]
    review_services.review_revise(
        review=revision_review,
        author=revision_review.author,
        rating=4,
        title=revision_review.title + " (updated)",
        body=revision_review.body + " I went back in March and it was just as good.",
        visit_month=revision_review.visit_month,
    )
    report = engagement.review_report(
        review=reviews[8],
        reporter=voters[1],
        reason="not_genuine",
        detail="This reads like it was written by the practice itself.",
    )
    pending_reply = reply_services.reply_submit(
        review=reviews[7],
        actor=responder,
        body="Thank you. We are sorry about the phone queue and are adding staff at 8am.",
    )
    reply_revision = reply_services.reply_revise(
        reply=reviews[0].reply,
        actor=owner,
        body="Thank you for your review. We have shared it with the nurse, who was delighted.",
    )
    claimant = UserFactory(display_name="Priya Pharmacist")
    pending_claim = claim_services.claim_submit(
        user=claimant,
        provider=hilltop,
        role_at_business="Superintendent pharmacist",
        work_email="priya@hilltop-pharmacy.example",
        evidence="I am on the GPhC register; the pharmacy's website lists me as the owner.",
    )
    alert = alert_services.consumer_alert_place(
        provider=others[3],
        staff=moderator,
        reason="We removed 14 reviews written by people connected to the business in March.",
    )
    removed = _published(
        others[4],
        voters[2],
        5,
        "Best dentist ever!!!",
        "Best dentist ever, use code SMILE10 for 10% off.",
        moderator,
    )
    moderation.review_remove(review=removed, moderator=moderator, reason="advertising")

    # Second factors: the owner has an authenticator app and recovery codes.
    TOTP.activate(owner, generate_totp_secret())
    RecoveryCodes.activate(owner)
    # Someone signed in elsewhere too (the sessions page lists both).
    session_for(owner, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0) Safari/604.1")

    # People part-way through allauth's flows.
    unverified = UserFactory(display_name="Una Unverified", email="una@example.com", verified=False)
    no_password = UserFactory(display_name="Nia Nopassword", email="nia@example.com")
    no_password.set_unusable_password()
    no_password.save(update_fields=["password"])
    newcomer = UserFactory(display_name="Nell Newcomer", email="nell@example.com")
    invitee = UserFactory(display_name="Ian Invitee", email=team_invitation.email)

    # Spread the dates over the past year, as a year of real use would leave them.
    for i, r in enumerate(reviews):
        when = timezone.now() - dt.timedelta(days=15 * i + 2, hours=i)
        Review.objects.filter(pk=r.pk).update(submitted_at=when, published_at=when)
    # One of each record the admin shows, for its change (view) pages.
    records = {
        "user_id": customer.pk,
        "category_id": gp.pk,
        "provider_id": provider.pk,
        "alert_id": alert.pk,
        "report_id": report.pk,
        "decision_id": ModerationDecision.objects.filter(review=rejected).first().pk,
        "claim_id": pending_claim.pk,
        "approved_claim_id": ProviderClaim.objects.filter(user=owner).first().pk,
        "membership_id": membership.pk,
        "business_event_id": BusinessEvent.objects.filter(provider=provider).first().pk,
        "pending_reply_id": pending_reply.pk,
        "reply_revision_id": reply_revision.pk,
        "reply_id": reviews[0].reply.pk,
        "ticket_event_id": TicketEvent.objects.filter(ticket=ticket).last().pk,
    }
    return {
        **records,
        "customer": customer.pk,
        "other_customer": other_customer.pk,
        "owner": owner.pk,
        "manager": manager.pk,
        "responder": responder.pk,
        "moderator": moderator.pk,
        "superuser": superuser.pk,
        "no_password": no_password.pk,
        "newcomer": newcomer.pk,
        "invitee": invitee.pk,
        "bright_slug": bright.slug,
        "claim_slug": hilltop.slug,
        "outcome": reviews[3].pk,
        "invite_token": invited[2].token,
        "expired_token": invited[-1].token,
        "slug": provider.slug,
        "alert_slug": others[3].slug,
        "review": review.pk,
        "pending": pending.pk,
        "rejected": rejected.pk,
        "replied": reviews[0].pk,
        "unanswered": reviews[9].pk,
        "ticket": ticket.pk,
        "escalated": late.pk,
        "resolved": resolved.pk,
        "template": ResponseTemplate.objects.filter(provider=provider).first().pk,
        "membership": membership.pk,
        "team_token": team_invitation.token,
        "flagged": flagged.pk,
        "revision": ReviewRevision.objects.get(review=revision_review, status="pending").pk,
        "owner_email": owner.email,
        "customer_email": customer.email,
        "confirm_key": EmailConfirmationHMAC(EmailAddress.objects.get(user=unverified)).key,
        "reset_key": f"{user_pk_to_url_str(customer)}-"
        f"{default_token_generator.make_token(customer)}",
    }
