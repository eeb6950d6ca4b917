"""Structured logs: audit events for sign-ins, failures, lockouts, second factors, refusals,
moderation and tickets, each one line with its request id and actor, and nothing secret."""

import io
import json
import logging
import secrets
import time

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from rest_framework.test import APIClient

from portal.logs import (
    AUDIT_LOGGER,
    ContextFilter,
    JsonFormatter,
    PlainFormatter,
    audit,
    identifier_hash,
)
from responses.services.tickets import ticket_transition
from reviews.services import review_moderate
from tests.factories import MembershipFactory, ProviderFactory, ReviewFactory, TicketFactory
from tests.portal.test_settings import _run

pytestmark = pytest.mark.django_db

NASTY = 'Eve\nINFO heard.audit login\r\x1b[31m", "level": "CRITICAL'


class Captured:
    def __init__(self, stream):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        """Every line, parsed: a line that is not one JSON object fails the test here."""
        return [json.loads(line) for line in self.text.splitlines()]

    def events(self, name: str | None = None) -> list[dict]:
        return [
            line
            for line in self.lines()
            if line["event"] and (name is None or line["event"] == name)
        ]


def _attach(formatter) -> tuple[logging.Handler, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    return handler, stream


@pytest.fixture
def logs():
    """Everything logged during the test, through the production (JSON) formatter."""
    handler, stream = _attach(JsonFormatter())
    root, audit_logger = logging.getLogger(), logging.getLogger(AUDIT_LOGGER)
    levels = root.level, audit_logger.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    audit_logger.setLevel(logging.INFO)
    yield Captured(stream)
    root.removeHandler(handler)
    root.setLevel(levels[0])
    audit_logger.setLevel(levels[1])


def _login(client, email, password):
    return client.post("/accounts/login/", {"login": email, "password": password})


# --- configuration ---------------------------------------------------------------------------
def test_the_actor_middleware_comes_right_after_the_request_id():
    middleware = settings.MIDDLEWARE
    assert middleware[0] == "portal.requestid.RequestIdMiddleware"
    assert middleware[1] == "portal.middleware_actor.ActorMiddleware"


def test_lines_written_inside_a_request_name_its_actor_without_a_query(
    rf, customer, logs, django_assert_num_queries
):
    from django.contrib.auth.models import AnonymousUser
    from django.utils.functional import SimpleLazyObject

    from portal.middleware_actor import ActorMiddleware
    from portal.requestid import RequestIdMiddleware

    def view(request):
        logging.getLogger("heard.test").warning("inside the view")
        return HttpResponse()

    handler = RequestIdMiddleware(ActorMiddleware(view))
    signed_in = rf.get("/")
    signed_in.user = customer
    response = handler(signed_in)
    not_looked_up = rf.get("/")
    not_looked_up.user = SimpleLazyObject(lambda: customer)
    with django_assert_num_queries(0):
        handler(not_looked_up)
    anonymous = rf.get("/")
    anonymous.user = AnonymousUser()
    handler(anonymous)
    first, second, third = logs.lines()
    assert (first["actor"], first["request_id"]) == (
        f"user:{customer.pk}",
        response["X-Request-ID"],
    )
    assert second["actor"] == third["actor"] == "-"
    logging.getLogger("heard.test").warning("outside any request")
    assert logs.lines()[-1]["request_id"] == logs.lines()[-1]["actor"] == "-"


def _probe(env):
    script = (
        "import logging; logging.getLogger('heard.audit').info('probe-%s', 'line'); "
        "logging.getLogger('heard.other').debug('hidden-by-level')"
    )
    result = _run(["manage.py", "shell", "-c", script], env)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if "probe-line" in line], result.stdout


def test_production_settings_write_json_lines_to_stdout():
    lines, out = _probe(
        {"DEBUG": "False", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "x.example"}
    )
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert line["logger"] == "heard.audit"
    assert line["level"] == "INFO"
    assert line["message"] == "probe-line"
    assert {"time", "request_id", "actor", "event"} <= line.keys()
    assert "hidden-by-level" not in out


def test_development_writes_plain_lines_unless_json_is_asked_for():
    (plain,), _ = _probe({"DEBUG": "True"})
    assert not plain.startswith("{")
    assert "INFO heard.audit [- -] probe-line" in plain
    (asked,), _ = _probe({"DEBUG": "True", "LOG_FORMAT": "json"})
    assert json.loads(asked)["message"] == "probe-line"


# --- one record, one line --------------------------------------------------------------------
def _record(message, *args, **extra):
    record = logging.LogRecord("heard.test", logging.WARNING, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_user_text_stays_in_its_field_on_one_json_line(customer):
    customer.display_name = NASTY
    line = JsonFormatter().format(_record("Display name: %s", customer.display_name, note=NASTY))
    assert len(line.splitlines()) == 1
    data = json.loads(line)
    assert data["message"] == f"Display name: {NASTY}"
    assert data["note"] == NASTY
    assert data["level"] == "WARNING"
    assert "\x1b" not in line and "\r" not in line


def test_user_text_is_escaped_onto_one_plain_line():
    line = PlainFormatter().format(_record("Display name: %s", NASTY, note=NASTY))
    assert len(line.splitlines()) == 1
    assert "\x1b" not in line and "\r" not in line
    assert "Eve\\nINFO heard.audit login\\r\\x1b[31m" in line
    for separator in ("\u2028", "\u2029", "\x85", "\u202e"):
        assert len(PlainFormatter().format(_record(f"a{separator}b")).splitlines()) == 1


def test_a_traceback_in_the_plain_format_continues_on_indented_lines():
    try:
        raise ValueError(NASTY)
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    first, *rest = PlainFormatter().format(record).split("\n")
    assert first.endswith("failed")
    assert rest and all(line.startswith("    ") for line in rest)
    assert "\x1b" not in "".join(rest)


def test_a_path_with_a_line_break_is_one_line_in_the_logs(client, logs):
    client.get("/no-such-page%0AINFO%20heard.audit%20login%22,%22level%22:%22CRITICAL")
    lines = logs.lines()
    assert lines
    (not_found,) = [line for line in lines if line["message"].startswith("Not Found")]
    assert not_found["level"] == "WARNING"
    # (Django escapes the line break itself; the forged key stays inside the message.)
    assert 'INFO heard.audit login","level":"CRITICAL' in not_found["message"]


def test_secret_parts_of_paths_never_reach_the_logs(client, logs):
    token = secrets.token_urlsafe(24)
    client.get(f"/invite/{token}/")
    client.get(f"/business/join/{token}/")
    assert logs.text
    assert token not in logs.text


# --- sign-in and account events --------------------------------------------------------------
def test_a_login_is_logged_with_the_actor_and_the_request_id(
    client, customer, password, logs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _login(client, customer.email, password)
    assert response.status_code == 302
    (login,) = logs.events("login")
    assert login["logger"] == "heard.audit"
    assert login["actor"] == f"user:{customer.pk}"
    assert login["user_id"] == customer.pk
    assert login["request_id"] == response["X-Request-ID"]


def test_nothing_secret_is_logged_around_a_login(
    client, customer, password, logs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, customer.email, "a-wrong-password-1234")
        _login(client, customer.email, password)
        client.get("/")
        token = (
            APIClient()
            .post("/api/v1/auth/token/", {"email": customer.email, "password": password})
            .data["token"]
        )
        session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
        client.post("/accounts/logout/")
    text = logs.text
    # attempts are written at once, changes when their transaction commits: compare as sets
    assert sorted(e["event"] for e in logs.events()) == sorted(
        ["login_failed", "login", "api_token_issued", "logout"]
    )
    assert session_key and token
    for secret in (password, "a-wrong-password-1234", session_key, token, customer.email):
        assert secret not in text
    assert '"password"' not in text


def test_a_failed_login_is_logged_without_the_address_or_password(
    client, customer, logs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _login(client, customer.email, "not-the-password-987")
    (failed,) = logs.events("login_failed")
    assert failed["actor"] == "-"
    assert failed["request_id"] == response["X-Request-ID"]
    assert failed["identifier"] == identifier_hash(customer.email.upper())
    assert customer.email not in logs.text
    assert "not-the-password-987" not in logs.text
    assert logs.events("login_locked") == []


def test_a_lockout_is_logged_once_when_it_begins(
    client, customer, logs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for attempt in range(6):
            response = _login(client, customer.email, f"wrong-{attempt}")
    assert "Too many failed login attempts" in response.content.decode()
    assert len(logs.events("login_failed")) == 5  # the sixth was refused before checking
    (locked,) = logs.events("login_locked")
    assert locked["identifier"] == identifier_hash(customer.email)
    assert locked["limits"] == ["5/5m/key"]


def test_adding_and_removing_a_second_factor_is_logged(
    client, customer, password, logs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, customer.email, password)  # recent, so no reauthentication is asked
        client.get("/accounts/2fa/totp/activate/")
        secret = client.session[SECRET_SESSION_KEY]
        code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
        response = client.post("/accounts/2fa/totp/activate/", {"code": code})
        assert response.status_code == 302, response.content.decode()
        totp = Authenticator.objects.get(user=customer, type=Authenticator.Type.TOTP)
        response = client.post("/accounts/2fa/totp/deactivate/")
        assert response.status_code == 302
    added = {e["authenticator_type"]: e for e in logs.events("mfa_added")}
    assert set(added) == {"totp", "recovery_codes"}
    assert added["totp"]["authenticator_id"] == totp.pk
    assert added["totp"]["actor"] == f"user:{customer.pk}"
    removed = {e["authenticator_type"] for e in logs.events("mfa_removed")}
    assert removed == {"totp", "recovery_codes"}
    assert secret not in logs.text and code not in logs.text


# --- refusals --------------------------------------------------------------------------------
def test_a_refusal_on_a_business_page_is_logged_and_shown_in_the_site_style(client, logs):
    provider = ProviderFactory(slug="elm-tree")
    responder = MembershipFactory(provider=provider, role="responder").user
    client.force_login(responder)
    url = f"/business/{provider.slug}/invitations/"
    response = client.post(url, {"addresses": "bob@example.org"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "<h1>You cannot do this</h1>" in body
    assert 'id="main"' in body  # the site's layout, not Django's bare 403
    (refused,) = logs.events("permission_denied")
    assert refused["path"] == url
    assert refused["method"] == "POST"
    assert refused["source"] == "html"
    assert refused["actor"] == f"user:{responder.pk}"
    assert refused["request_id"] == response["X-Request-ID"]
    # Django's own line about the response names the same request and actor.
    (django_line,) = [line for line in logs.lines() if line["logger"] == "django.request"]
    assert django_line["request_id"] == response["X-Request-ID"]
    assert django_line["actor"] == f"user:{responder.pk}"


def test_a_refusal_in_the_api_is_logged(logs):
    provider = ProviderFactory(slug="riverside")
    responder = MembershipFactory(provider=provider, role="responder").user
    url = f"/api/v1/business/providers/{provider.slug}/invitations/"
    api = APIClient()
    api.force_authenticate(responder)
    response = api.post(url, {"emails": ["new@example.com"]}, format="json")
    assert response.status_code == 403
    (refused,) = logs.events("permission_denied")
    assert refused["path"] == url
    assert refused["source"] == "api"
    assert refused["actor"] == f"user:{responder.pk}"
    assert refused["request_id"] == response["X-Request-ID"]


# --- moderation and tickets ------------------------------------------------------------------
def test_approving_a_review_writes_one_audit_line(
    moderator, logs, django_capture_on_commit_callbacks
):
    review = ReviewFactory()
    with django_capture_on_commit_callbacks(execute=True):
        review_moderate(review=review, moderator=moderator, decision="approve")
    (line,) = logs.events()
    assert line["event"] == "review_moderated"
    assert line["actor"] == f"user:{moderator.pk}"
    assert line["review_id"] == review.pk
    assert line["provider_id"] == review.provider_id
    assert (line["from_status"], line["to_status"]) == ("pending", "published")
    assert (line["decision"], line["reason"]) == ("approve", "")
    assert review.body not in logs.text and review.title not in logs.text


def test_rejecting_records_the_reason_code_and_never_the_note(
    moderator, logs, django_capture_on_commit_callbacks
):
    review = ReviewFactory()
    with django_capture_on_commit_callbacks(execute=True):
        review_moderate(
            review=review, moderator=moderator, decision="reject", reason="advertising", note=NASTY
        )
    (line,) = logs.events()
    assert (line["to_status"], line["reason"]) == ("rejected", "advertising")
    assert "Eve" not in logs.text


def test_moving_a_ticket_writes_one_audit_line(logs, django_capture_on_commit_callbacks):
    ticket = TicketFactory()
    member = MembershipFactory(provider=ticket.provider, role="responder").user
    with django_capture_on_commit_callbacks(execute=True):
        ticket_transition(ticket=ticket, to="in_progress", actor=member)
    (line,) = logs.events()
    assert line["event"] == "ticket_transitioned"
    assert line["ticket_id"] == ticket.pk
    assert line["provider_id"] == ticket.provider_id
    assert (line["from_status"], line["to_status"]) == ("new", "in_progress")
    assert line["role"] == "member"
    assert line["actor"] == f"user:{member.pk}"


def test_a_rolled_back_change_leaves_no_audit_line(
    moderator, logs, django_capture_on_commit_callbacks
):
    review = ReviewFactory()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            review_moderate(review=review, moderator=moderator, decision="approve")
            raise RuntimeError("something later failed")
    assert logs.events() == []


def test_audit_refuses_field_names_that_would_overwrite_the_line():
    with pytest.raises(ValueError, match="level"):
        audit("review_moderated", level="CRITICAL")


@pytest.mark.django_db
def test_refused_sign_ins_during_a_lockout_and_issued_tokens_are_logged(client, caplog, settings):
    from rest_framework.test import APIClient

    from tests.factories import TEST_PASSWORD, UserFactory

    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "2/5m/key"}
    user = UserFactory()
    caplog.set_level("INFO", logger="heard.audit")
    for _i in range(3):
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-password"})
    events = [getattr(r, "event", "") for r in caplog.records if r.name == "heard.audit"]
    assert "login_refused" in events
    caplog.clear()
    response = APIClient().post(
        "/api/v1/auth/token/", {"email": user.email, "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code in (200, 429)
    if response.status_code == 200:
        issued = [r for r in caplog.records if getattr(r, "event", "") == "api_token_issued"]
        assert len(issued) == 1 and user.email not in issued[0].getMessage()
