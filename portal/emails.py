"""Email glue: every notification is rendered from a template pair and handed to a task after
the surrounding transaction commits, so a rolled-back change sends nothing and a failing mail
server never breaks a request."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone

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
    def enqueue():
        email_deliver.enqueue(subject=subject, body=body, html=html, to=to, attempt=1)

    # robust: an enqueue failure (queue table unreachable) is logged, never raised into
    # the request that already committed its change.
    transaction.on_commit(enqueue, robust=True)


@task()
def email_deliver(*, subject: str, body: str, html: str, to: list[str], attempt: int = 1) -> bool:
    """Send one message; on failure try again (later, where the queue can defer)."""
    max_attempts = max(1, settings.EMAIL_SEND_ATTEMPTS)
    while True:
        try:
            message = EmailMultiAlternatives(
                subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=to
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
                return False
            attempt += 1
            if email_deliver.get_backend().supports_defer:
                later = timezone.now() + timedelta(seconds=30 * 2**attempt)
                email_deliver.using(run_after=later).enqueue(
                    subject=subject, body=body, html=html, to=to, attempt=attempt
                )
                return False
            continue  # no deferral in-process: try again straight away
        return True
