"""Consumer alerts: moderators warn the public on a provider's page that it manipulated its
reviews. Placed through the service only, for at least 90 days, logged; shown escaped with its
dates; ends by itself; lifted early only by a superuser, with the reason logged."""

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from reviews.models import ConsumerAlert, Decision, ModerationDecision
from reviews.selectors import consumer_alerts_active
from reviews.services.alerts import (
    ALERT_MIN_DAYS,
    consumer_alert_lift,
    consumer_alert_place,
)
from tests.factories import ProviderFactory, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db

REASON = "We removed 14 reviews written by people connected to the business in March 2026."
XSS = "</section><script>alert(1)</script> paid for fake five-star reviews"
ADMIN = "/admin/reviews/consumeralert/"
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def provider():
    return ProviderFactory(name="Shady Smiles", slug="shady-smiles")


@pytest.fixture
def superuser():
    return StaffFactory(is_superuser=True, display_name="Sam Senior")


@pytest.fixture
def alert(provider, moderator):
    return consumer_alert_place(provider=provider, staff=moderator, reason=REASON)


def _log(alert):
    return ModerationDecision.objects.filter(
        content_type=ContentType.objects.get_for_model(ConsumerAlert), object_id=alert.pk
    )


# --- placing -----------------------------------------------------------------------------------
def test_a_moderator_places_an_alert_for_90_days_and_it_is_logged(provider, moderator):
    alert = consumer_alert_place(provider=provider, staff=moderator, reason=f"  {REASON} ")
    assert alert.reason == REASON
    assert alert.ends_at - alert.starts_at == dt.timedelta(days=ALERT_MIN_DAYS)
    assert abs(alert.starts_at - timezone.now()) < dt.timedelta(minutes=1)
    (entry,) = _log(alert)
    assert (entry.decision, entry.moderator, entry.note, entry.review) == (
        Decision.ALERT,
        moderator,
        REASON,
        None,
    )


@pytest.mark.parametrize(
    "who",
    [
        lambda: UserFactory(),
        lambda: StaffFactory(),  # staff, but not a moderator
        lambda: StaffFactory(is_active=False, is_superuser=True),
    ],
    ids=["customer", "staff-without-permission", "inactive-superuser"],
)
def test_only_staff_with_the_permission_can_place_one(provider, who):
    with pytest.raises(PermissionDenied):
        consumer_alert_place(provider=provider, staff=who(), reason=REASON)
    assert not ConsumerAlert.objects.exists()
    assert not ModerationDecision.objects.exists()


@pytest.mark.parametrize(
    ("days", "ok"), [(0, False), (89, False), (90, True), (365, True), (366, False)]
)
def test_an_alert_runs_at_least_90_days(provider, moderator, days, ok):
    if ok:
        alert = consumer_alert_place(provider=provider, staff=moderator, reason=REASON, days=days)
        assert alert.ends_at - alert.starts_at == dt.timedelta(days=days)
        return
    with pytest.raises(ValidationError) as refused:
        consumer_alert_place(provider=provider, staff=moderator, reason=REASON, days=days)
    assert "days" in refused.value.message_dict
    assert not ConsumerAlert.objects.exists() and not ModerationDecision.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "Fake reviews.", "x" * 1001])
def test_the_public_reason_must_say_something(provider, moderator, reason):
    with pytest.raises(ValidationError) as refused:
        consumer_alert_place(provider=provider, staff=moderator, reason=reason)
    assert "reason" in refused.value.message_dict
    assert not ConsumerAlert.objects.exists()


# --- the public banner -------------------------------------------------------------------------
def test_the_provider_page_shows_the_reason_escaped_with_its_dates(client, provider, moderator):
    other = ProviderFactory(name="Honest Dental", slug="honest")
    consumer_alert_place(provider=provider, staff=moderator, reason=XSS)
    body = client.get(provider.get_absolute_url()).content.decode()
    assert 'class="consumer-alert"' in body and "Consumer alert" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;/section&gt;&lt;script&gt;alert(1)&lt;/script&gt; paid for fake" in body
    start = timezone.localdate()
    end = start + dt.timedelta(days=ALERT_MIN_DAYS)
    assert f"Placed on {start:%-d %B %Y}; shown until {end:%-d %B %Y}." in body
    # Near the top: before the rating.
    assert body.index('class="consumer-alert"') < body.index('id="score-heading"')
    assert 'class="consumer-alert"' not in client.get(other.get_absolute_url()).content.decode()


def test_the_alert_ends_by_itself_after_its_period(client, provider, moderator, time_machine):
    time_machine.move_to(NOW, tick=False)
    alert = consumer_alert_place(provider=provider, staff=moderator, reason=REASON)
    time_machine.move_to(NOW + dt.timedelta(days=ALERT_MIN_DAYS) - dt.timedelta(seconds=1))
    assert consumer_alerts_active(provider=provider) == [alert]
    assert REASON in client.get(provider.get_absolute_url()).content.decode()
    time_machine.move_to(NOW + dt.timedelta(days=ALERT_MIN_DAYS), tick=False)
    assert consumer_alerts_active(provider=provider) == []
    assert REASON not in client.get(provider.get_absolute_url()).content.decode()
    assert list(_log(alert).values_list("decision", flat=True)) == [Decision.ALERT]


def test_the_active_alerts_are_one_query(provider, moderator, django_assert_num_queries):
    consumer_alert_place(provider=provider, staff=moderator, reason=REASON)
    consumer_alert_place(provider=provider, staff=moderator, reason=REASON + " Again.")
    with django_assert_num_queries(1):
        assert len(consumer_alerts_active(provider=provider)) == 2


# --- lifting early: a correction by senior staff -----------------------------------------------
def test_a_superuser_can_lift_it_early_with_a_reason_that_is_logged(
    client, provider, alert, superuser
):
    why = "Placed on the wrong provider: the evidence concerns Shady Smiles Leeds."
    lifted = consumer_alert_lift(alert=alert, staff=superuser, reason=why)
    assert (lifted.lifted_by, lifted.lift_reason) == (superuser, why)
    assert consumer_alerts_active(provider=provider) == []
    assert REASON not in client.get(provider.get_absolute_url()).content.decode()
    decisions = list(_log(alert).order_by("created_at", "pk").values_list("decision", "note"))
    assert decisions == [(Decision.ALERT, REASON), (Decision.LIFT_ALERT, why)]


def test_a_moderator_cannot_lift_one(alert, moderator):
    with pytest.raises(PermissionDenied):
        consumer_alert_lift(alert=alert, staff=moderator, reason="The business asked us nicely.")
    alert.refresh_from_db()
    assert alert.lifted_at is None and _log(alert).count() == 1


@pytest.mark.parametrize("reason", ["", "sorry"])
def test_lifting_needs_a_reason(alert, superuser, reason):
    with pytest.raises(ValidationError):
        consumer_alert_lift(alert=alert, staff=superuser, reason=reason)
    alert.refresh_from_db()
    assert alert.lifted_at is None and _log(alert).count() == 1


def test_an_ended_or_lifted_alert_cannot_be_lifted(alert, superuser, time_machine):
    why = "Placed on the wrong provider by mistake, see ticket 42."
    consumer_alert_lift(alert=alert, staff=superuser, reason=why)
    with pytest.raises(ValidationError):
        consumer_alert_lift(alert=alert, staff=superuser, reason=why)
    later = consumer_alert_place(provider=alert.provider, staff=alert.created_by, reason=REASON)
    time_machine.move_to(later.ends_at + dt.timedelta(seconds=1))
    with pytest.raises(ValidationError):
        consumer_alert_lift(alert=later, staff=superuser, reason=why)
    assert _log(later).count() == 1


# --- the admin ---------------------------------------------------------------------------------
def test_a_moderator_places_one_in_the_admin_through_the_service(client, provider, moderator):
    client.force_login(moderator)
    assert client.get(f"{ADMIN}add/").status_code == 200
    data = {"provider": provider.pk, "reason": REASON, "days": "120"}
    response = client.post(f"{ADMIN}add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = ConsumerAlert.objects.get()
    assert (alert.provider, alert.created_by) == (provider, moderator)
    assert alert.ends_at - alert.starts_at == dt.timedelta(days=120)
    assert _log(alert).get().decision == Decision.ALERT


def test_the_admin_refuses_fewer_than_90_days_and_keeps_the_text(client, provider, moderator):
    client.force_login(moderator)
    response = client.post(
        f"{ADMIN}add/", {"provider": provider.pk, "reason": REASON, "days": "30"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "90" in body and REASON in body
    assert not ConsumerAlert.objects.exists()


def test_an_alert_is_read_only_in_the_admin(client, alert, moderator):
    client.force_login(moderator)
    page = client.get(f"{ADMIN}{alert.pk}/change/")
    assert page.status_code == 200
    assert 'name="reason"' not in page.content.decode()  # shown, not editable
    client.post(f"{ADMIN}{alert.pk}/change/", {"reason": "Rewritten"})
    assert client.post(f"{ADMIN}{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    alert.refresh_from_db()
    assert alert.reason == REASON


def test_staff_without_the_permission_cannot_add_in_the_admin(client, provider):
    client.force_login(StaffFactory())
    client.post(f"{ADMIN}add/", {"provider": provider.pk, "reason": REASON, "days": "90"})
    assert not ConsumerAlert.objects.exists()


def test_only_superusers_get_the_lift_action(client, alert, moderator, superuser):
    client.force_login(moderator)
    listing = client.get(ADMIN).content.decode()
    assert "lift_selected" not in listing
    refused = client.post(
        ADMIN,
        {
            "action": "lift_selected",
            ACTION_CHECKBOX_NAME: [alert.pk],
            "confirm": "yes",
            "reason": "The business asked us to take it down early.",
        },
    )
    assert refused.status_code in (200, 302, 403)
    alert.refresh_from_db()
    assert alert.lifted_at is None

    client.force_login(superuser)
    ask = client.post(ADMIN, {"action": "lift_selected", ACTION_CHECKBOX_NAME: [alert.pk]})
    assert "give the reason" in ask.content.decode()
    why = "Placed on the wrong provider by mistake; the evidence was about another one."
    done = client.post(
        ADMIN,
        {
            "action": "lift_selected",
            ACTION_CHECKBOX_NAME: [alert.pk],
            "confirm": "yes",
            "reason": why,
        },
    )
    assert done.status_code == 302
    alert.refresh_from_db()
    assert (alert.lifted_by, alert.lift_reason) == (superuser, why)
    assert _log(alert).filter(decision=Decision.LIFT_ALERT).count() == 1


def test_moderators_group_has_the_permission(moderator):
    assert moderator.has_perm("reviews.place_consumer_alert")
    assert moderator.has_perm("reviews.view_consumeralert")
    assert not moderator.has_perm("reviews.change_consumeralert")
