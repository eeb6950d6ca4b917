"""The business accounts of the scale seed (`seed_demo --business bulk` on PostgreSQL): every
provider whose business answers reviews has an owner, the bigger ones a responder too, so the
dashboard pages can be measured on the scale data (`make explain`)."""

import pytest
from allauth.account.models import EmailAddress
from django.db.models import Count, Q

from portal import scale_seed
from portal.management.commands import seed_demo
from responses.models import Membership, Reply, Role, Ticket
from responses.selectors import ticket_list_visible_to
from reviews.models import Provider
from tests.reviews.test_seed import (  # noqa: F401 — fixtures, re-exported
    SCALE,
    postgres_only,
    scale_seeded,
    seed,
)


def answering() -> set[int]:
    """The providers the bulk seed answers for: those with a reply or a ticket."""
    return set(Reply.objects.values_list("provider_id", flat=True)) | set(
        Ticket.objects.values_list("provider_id", flat=True)
    )


@pytest.fixture
def small_teams(monkeypatch):
    """Which providers answer depends on their ids (a hash), and the ids on what the test
    database's sequences already gave out: at 300 providers, a bar of 20 reviews sometimes
    leaves no answering provider big enough for a responder. At 3, some always are."""
    monkeypatch.setattr(scale_seed, "TEAM_FROM_REVIEWS", 3)


@pytest.mark.postgres
def test_each_answering_provider_has_an_owner_and_the_bigger_ones_a_responder(
    postgres_only,  # noqa: F811 — the fixtures
    small_teams,
    scale_seeded,  # noqa: F811
):
    teams = Provider.objects.annotate(
        owners=Count("memberships", filter=Q(memberships__role=Role.OWNER)),
        responders=Count("memberships", filter=Q(memberships__role=Role.RESPONDER)),
        members=Count("memberships"),
    )
    with_team = {p.pk: p for p in teams if p.members}
    assert answering() and answering() <= set(with_team)
    assert "owners and" in scale_seeded
    for provider in with_team.values():
        assert provider.owners == 1
        big = provider.review_count >= scale_seed.TEAM_FROM_REVIEWS
        assert provider.responders == (1 if big else 0), provider.slug
        assert provider.is_claimed
    assert any(p.responders for p in with_team.values())
    assert not Provider.objects.filter(is_claimed=True).exclude(pk__in=with_team).exists()
    # Real accounts: a verified address each, no password anyone could use.
    for membership in Membership.objects.select_related("user"):
        user = membership.user
        assert user.email.endswith("@" + scale_seed.BUSINESS_DOMAIN)
        assert not user.has_usable_password()
        assert EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()


@pytest.mark.postgres
def test_a_seeded_owner_sees_their_business_tickets_and_nobody_else_s(
    postgres_only,  # noqa: F811 — the fixtures
    scale_seeded,  # noqa: F811
):
    owner = Membership.objects.filter(role=Role.OWNER, provider__tickets__isnull=False).first()
    assert owner is not None
    visible = set(ticket_list_visible_to(user=owner.user).values_list("pk", flat=True))
    assert visible == set(
        Ticket.objects.filter(provider=owner.provider).values_list("pk", flat=True)
    )


@pytest.mark.postgres
def test_a_rerun_adds_no_business_accounts(postgres_only, scale_seeded, monkeypatch):  # noqa: F811
    monkeypatch.setattr(seed_demo, "STAR_EVERY", 100)
    before = (Membership.objects.count(), EmailAddress.objects.count())
    seed(**SCALE)
    assert (Membership.objects.count(), EmailAddress.objects.count()) == before
