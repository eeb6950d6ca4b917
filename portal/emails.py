"""Email glue: every notification is rendered from a template pair and handed to a task after
the surrounding transaction commits, so a rolled-back change sends nothing and a failing mail
server never breaks a request."""

import logging
import uuid
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone

from portal.models import EmailDelivery

logger = logging.getLogger("heard.email")


def email_send(*, template: str, to: list[str], context: dict | None = None) -> None:
    """Render `emails/<template>_subject.txt`, `.txt` and `.html` now, deliver after commit.

    Rendering happens in the caller (templates see model objects; the task only gets
    strings), delivery in a task that retries.
    """
    context = {"SITE_NAME": settings.SITE_NAME, "SITE_URL": settings.SITE_URL, **(context or {})}
    subject = render_to_string(f"emails/{template}_subject.txt", context)
    subject = settings.EMAIL_SUBJECT_PREFIX + " ".join(subject.split())
    body = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    _deliver_on_commit(subject=subject, body=body, html=html, to=list(to))


def email_send_rendered(*, message: EmailMultiAlternatives) -> None:
    """Deliver a message someone else rendered (allauth's), the same queued way."""
    html = ""
    for content, mimetype in getattr(message, "alternatives", []):
        if mimetype == "text/html":
            html = content
    _deliver_on_commit(
        subject=str(message.subject), body=str(message.body), html=html, to=list(message.to)
    )


def _deliver_on_commit(*, subject: str, body: str, html: str, to: list[str]) -> None:
    # The delivery key is fixed now, in the caller's transaction: every run of the task for
    # this email (a retry, a run again after its worker died) carries the same one.
    key = str(uuid.uuid4())

    def enqueue():
        email_deliver.enqueue(subject=subject, body=body, html=html, to=to, attempt=1, key=key)

    # robust: an enqueue failure (queue table unreachable) is logged, never raised into
    # the request that already committed its change.
    transaction.on_commit(enqueue, robust=True)


def message_id(key: str) -> str:
    """The Message-ID of every try of the email `key`: the same on each, so a resend after an
    interrupted try is a duplicate a mail system recognises (RFC 5322, 3.6.4)."""
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domain = sender.rpartition("@")[2] or "heard.localhost"
    return f"<{key}@{domain}>"


def _delivery_try(*, key: str, to: list[str], subject: str, attempt: int) -> bool:
    """Record one try of the email `key`; False when it was sent already, so this run (a
    task run again after a crash, or a duplicate) must not send it again."""
    delivery, created = EmailDelivery.objects.get_or_create(
        key=key, defaults={"to": ", ".join(to), "subject": subject}
    )
    if delivery.status == EmailDelivery.Status.SENT:
        logger.info("email already sent, not sent again key=%s", key)
        return False
    if not created and delivery.attempts >= attempt:
        # A try of this attempt started and never recorded its outcome: its worker died,
        # perhaps after the mail server took the message. Sending again may duplicate it.
        logger.warning("email try was interrupted, sending again key=%s attempt=%s", key, attempt)
    EmailDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1, last_attempt_at=timezone.now()
    )
    return True


def _delivery_record(*, key: str, status: str, **fields) -> None:
    if key:
        EmailDelivery.objects.filter(key=key).update(status=status, **fields)


@task()
def email_deliver(
    *, subject: str, body: str, html: str, to: list[str], attempt: int = 1, key: str = ""
) -> bool:
    """Send one message; on failure try again (later, where the queue can defer).

    With a delivery `key` (every email `email_send` queues has one) a run finds out first
    whether the message went already and records when it does: at least once, and once
    unless a worker dies between the mail server accepting and the record being written.
    Tasks queued without a key (before keys existed) are sent without a record."""
    max_attempts = max(1, settings.EMAIL_SEND_ATTEMPTS)
    while True:
        if key and not _delivery_try(key=key, to=to, subject=subject, attempt=attempt):
            return True
        try:
            message = EmailMultiAlternatives(
                subject=subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=to,
                headers={"Message-ID": message_id(key)} if key else None,
            )
            if html:
                message.attach_alternative(html, "text/html")
            message.send()
        except Exception:
            logger.warning(
                "email send failed (attempt %s of %s) subject=%r",
                attempt,
                max_attempts,
                subject,
                exc_info=True,
            )
            if attempt >= max_attempts:
                logger.error("email given up after %s attempts subject=%r", attempt, subject)
                _delivery_record(key=key, status=EmailDelivery.Status.FAILED)
                return False
            attempt += 1
            if email_deliver.get_backend().supports_defer:
                later = timezone.now() + timedelta(seconds=30 * 2**attempt)
                email_deliver.using(run_after=later).enqueue(
                    subject=subject, body=body, html=html, to=to, attempt=attempt, key=key
                )
                return False
            continue  # no deferral in-process: try again straight away
        # Outside the try: a failure to record a message that went is not a failed send.
        _delivery_record(key=key, status=EmailDelivery.Status.SENT, sent_at=timezone.now())
        return True
