"""A provider with a team, published reviews (one with a published reply, one a complaint with
its ticket), and API clients for each kind of caller."""

import pytest
from rest_framework.test import APIClient

from responses.services.replies import reply_moderate, reply_submit
from responses.services.tickets import ticket_open
from tests.factories import (
    MembershipFactory,
    ModeratorFactory,
    ProviderFactory,
    ReviewFactory,
    UserFactory,
    publish,
)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def as_user():
    """as_user(user) → an APIClient signed in as that user (None: anonymous)."""

    def make(user):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def world(db, customer, other_customer):
    """Everything the endpoint tests need, built through the services where it matters."""
    moderator = ModeratorFactory(display_name="Morgan Moderator")
    provider = ProviderFactory(name="Riverside Dental", slug="riverside-dental", town="Leeds")
    other_provider = ProviderFactory(name="Hilltop Pharmacy", slug="hilltop", town="York")
    owner = MembershipFactory(provider=provider, role="owner", user__display_name="Olive Owner")
    member = MembershipFactory(
        provider=provider, role="responder", user__display_name="Rory Responder"
    ).user
    other_member = MembershipFactory(
        provider=other_provider, role="owner", user__display_name="Pat Pharmacist"
    ).user
    review = publish(
        ReviewFactory(provider=provider, author=customer, rating=2, wants_resolution=True),
        moderator,
    )
    replied = publish(ReviewFactory(provider=provider, rating=5), moderator)
    reply = reply_submit(
        review=replied, actor=owner.user, body="Thank you, we are glad it went well."
    )
    reply_moderate(reply=reply, moderator=moderator, decision="approve")
    ticket = review.ticket if hasattr(review, "ticket") else None
    if ticket is None:
        ticket = ticket_open(
            provider=provider,
            customer=customer,
            source="low_rating",
            subject=review.title,
            message=review.body,
            review=review,
        )
    other_ticket = ticket_open(
        provider=other_provider,
        customer=other_customer,
        source="private",
        subject="Wrong medicine",
        message="I was given the wrong strength of my usual prescription.",
    )
    return {
        "moderator": moderator,
        "provider": provider,
        "other_provider": other_provider,
        "owner": owner.user,
        "member": member,
        "other_member": other_member,
        "review": review,
        "replied": replied,
        "ticket": ticket,
        "other_ticket": other_ticket,
        "customer": customer,
        "other_customer": other_customer,
        "stranger": UserFactory(display_name="Sam Stranger"),
    }
