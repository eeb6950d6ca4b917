"""The email helper: rendered from a template pair, sent after commit, retried, never raising."""

import logging
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from portal.emails import email_deliver, email_send

pytestmark = pytest.mark.django_db
TEST_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture(autouse=True)
def _test_templates(settings):
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], TEST_TEMPLATES]}
    ]


def test_email_goes_out_after_commit_with_text_and_html(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email_send(template="test_message", to=["a@example.com"], context={"name": "<Ann>"})
        assert mail.outbox == []  # nothing before commit
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["a@example.com"]
    assert message.subject == "[Heard] Hello <Ann>"
    assert "Hello <Ann>," in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Hello &lt;Ann&gt;" in html  # user text is escaped in HTML mail


def test_email_is_not_sent_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            email_send(template="test_message", to=["a@example.com"], context={"name": "Ann"})
            raise RuntimeError("the change failed")
    assert callbacks == []
    assert mail.outbox == []


class FlakyBackend:
    failures_left = 0

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        if FlakyBackend.failures_left:
            FlakyBackend.failures_left -= 1
            raise ConnectionRefusedError("mail server down")
        mail.outbox.extend(messages)
        return len(messages)


@pytest.fixture
def flaky_mailer(settings):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.FlakyBackend"}}
    settings.EMAIL_SEND_ATTEMPTS = 3
    return FlakyBackend


def test_a_failing_send_is_retried_and_logged(flaky_mailer, caplog):
    flaky_mailer.failures_left = 2
    with caplog.at_level(logging.WARNING, logger="heard.email"):
        result = email_deliver.enqueue(subject="S", body="B", html="", to=["a@example.com"])
    assert result.return_value is True
    assert len(mail.outbox) == 1
    assert sum("email send failed" in r.getMessage() for r in caplog.records) == 2


def test_a_send_that_keeps_failing_gives_up_without_raising(
    flaky_mailer, caplog, client, customer, django_capture_on_commit_callbacks
):
    flaky_mailer.failures_left = 99
    with caplog.at_level(logging.WARNING, logger="heard.email"):
        with django_capture_on_commit_callbacks(execute=True):
            email_send(template="test_message", to=["a@example.com"], context={"name": "Ann"})
    assert mail.outbox == []
    assert any("email given up after 3 attempts" in r.getMessage() for r in caplog.records)
