"""Shared by the security suites: the API tests' world (a provider with a team, a complaint and a
published reply) with every kind of caller added, and a snapshot of the database to prove that
a refused request wrote nothing."""

import pytest
from django.apps import apps
from django.db import connection

from responses.models import Membership, ResponseTemplate
from tests.api.conftest import as_user, world  # noqa: F401 — fixtures, re-exported
from tests.factories import (
    InvitationFactory,
    MembershipFactory,
    TeamInvitationFactory,
    UserFactory,
)

ROLES = [
    "anonymous",
    "customer",
    "other_customer",
    "responder",
    "manager",
    "owner",
    "other_member",
    "moderator",
    "superuser",
]

# Every table a request could write to; sessions are left out (signing in writes them), and
# proxy models share their concrete model's table.
SNAPSHOT_APPS = ["accounts", "reviews", "responses", "account", "authtoken", "auth", "mfa"]


@pytest.fixture
def people(world):  # noqa: F811 — the imported fixture
    """world plus the roles the API matrix did not need: manager, superuser, the responder under
    its role name, and objects for every URL parameter of the business pages."""
    provider = world["provider"]
    manager = MembershipFactory(
        provider=provider, role="manager", user__display_name="Mia Manager"
    ).user
    superuser = UserFactory(is_staff=True, is_superuser=True, display_name="Sue Superuser")
    template = ResponseTemplate.objects.create(
        provider=provider,
        name="Sorry",
        body="We are sorry to hear this.",
        updated_by=world["owner"],
    )
    return {
        **world,
        "responder": world["member"],
        "manager": manager,
        "superuser": superuser,
        "responder_membership": Membership.objects.get(user=world["member"], provider=provider),
        "template": template,
        # For the other customer's address: they may accept it, nobody else may.
        "team_invitation": TeamInvitationFactory(
            provider=provider, invited_by=world["owner"], email=world["other_customer"].email
        ),
        "invitation": InvitationFactory(provider=provider),
    }


def _snapshot_tables() -> list[str]:
    tables = []
    for label in SNAPSHOT_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            if not model._meta.proxy and model._meta.managed:
                tables.append(model._meta.db_table)
    return sorted(set(tables))


def db_snapshot() -> dict:
    """Every row of every table a request might touch (raw SQL: this runs twice per request
    in the matrices, and the ORM's overhead would dominate their run time)."""
    snapshot = {}
    with connection.cursor() as cursor:
        for table in _snapshot_tables():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)} ORDER BY 1")  # noqa: S608
            snapshot[table] = cursor.fetchall()
    return snapshot


def snapshot_diff(before: dict, after: dict) -> list[str]:
    """The tables whose rows differ, for a readable failure message."""
    return sorted(
        label for label in before.keys() | after.keys() if before.get(label) != after.get(label)
    )
