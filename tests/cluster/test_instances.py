"""Two instances are one site: what one instance starts (a session, a rate-limit count, a
published review, a queued email), the other instance and the worker carry on."""

import re
import subprocess
import time
import uuid

import requests

from tests.cluster.conftest import (
    INSTANCE,
    SCRIPT,
    SITE,
    csrf_from,
    mail_messages,
    sql,
    wait_for,
)


def sign_in(session: requests.Session, base: str, email: str, password: str) -> requests.Response:
    token = csrf_from(session, f"{base}/accounts/login/")
    return session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": token, "login": email, "password": password},
        allow_redirects=False,
        timeout=10,
    )


def login_of(cluster, role: str) -> dict:
    return next(login for login in cluster["logins"] if login["role"] == role)


def test_a_session_made_through_one_instance_is_valid_on_the_other(cluster):
    customer = login_of(cluster, "customer")
    session = requests.Session()
    # Signed out, instance b sends the visitor to sign in.
    assert session.get(f"{INSTANCE['b']}/accounts/data/", allow_redirects=False).status_code == 302

    signed_in = sign_in(session, INSTANCE["a"], customer["email"], customer["password"])
    assert signed_in.status_code == 302, signed_in.text[:500]

    page = session.get(f"{INSTANCE['b']}/accounts/data/", allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert customer["email"] in page.text


def test_a_rate_limit_reached_through_one_instance_applies_on_the_other(cluster):
    """Failed sign-ins count per client address (10 a minute): five through a and five through
    b use the allowance up, and the next is refused on either. The address is the one nginx
    would pass on in X-Forwarded-For (TRUSTED_PROXY_COUNT=1)."""
    address = f"198.51.100.{uuid.uuid4().int % 240 + 1}"
    session = requests.Session()

    def failed_sign_in(base: str, client: str = address) -> str:
        session.headers["X-Forwarded-For"] = client
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.com"
        wrong = sign_in(session, base, email, "wrong-pass")
        assert wrong.status_code == 200  # the form again, with the reason
        if "Too many failed login attempts" in wrong.text:
            return "limited"
        assert "not correct" in wrong.text
        return "wrong"

    answers = [failed_sign_in(INSTANCE["a" if n % 2 else "b"]) for n in range(10)]
    assert answers == ["wrong"] * 10
    assert failed_sign_in(INSTANCE["a"]) == "limited"
    assert failed_sign_in(INSTANCE["b"]) == "limited"
    # Another address is counted apart.
    assert failed_sign_in(INSTANCE["b"], client="198.51.100.250") == "wrong"


def totp_code(email: str) -> str:
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), "totp", email], capture_output=True, text=True, check=True
    ).stdout.strip()


def sign_in_with_second_factor(session, base, login) -> None:
    first = sign_in(session, base, login["email"], login["password"])
    assert first.status_code == 302 and "/2fa/authenticate" in first.headers["Location"]
    url = f"{base}/accounts/2fa/authenticate/"
    token = csrf_from(session, url)
    second = session.post(
        url, data={"csrfmiddlewaretoken": token, "code": totp_code(login["email"])}, timeout=10
    )
    assert second.status_code == 200 and "Sign out" in second.text, second.text[:800]


def test_a_review_published_through_a_is_on_the_cached_page_served_by_b(cluster, customers):
    slug = sql(
        "SELECT slug FROM reviews_provider WHERE review_count > 0 ORDER BY review_count LIMIT 1"
    )[0][0]
    page_on_b = f"{INSTANCE['b']}/providers/{slug}/"
    assert requests.get(page_on_b, timeout=10).status_code == 200
    cached = requests.get(page_on_b, timeout=10)
    assert cached.headers["X-Page-Cache"] == "hit"

    title = f"Seen on both instances {uuid.uuid4().hex[:8]}"
    _, _, token = customers[0]
    written = requests.post(
        f"{INSTANCE['a']}/api/v1/reviews/",
        json={
            "provider": slug,
            "rating": 5,
            "title": title,
            "body": "The receptionist found me an appointment the same morning. Thank you.",
            "visit_date": time.strftime("%Y-%m-01"),
        },
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    )
    assert written.status_code == 201, written.text
    review_id = written.json()["id"]
    assert title not in requests.get(page_on_b, timeout=10).text  # pending: not public yet

    moderator = requests.Session()
    sign_in_with_second_factor(moderator, INSTANCE["a"], login_of(cluster, "staff moderator"))
    queue = f"{INSTANCE['a']}/admin/reviews/pendingreview/"
    decided = moderator.post(
        queue,
        data={
            "csrfmiddlewaretoken": csrf_from(moderator, queue),
            "action": "approve_selected",
            "_selected_action": [review_id],
        },
        timeout=10,
    )
    assert decided.status_code == 200
    assert sql("SELECT status FROM reviews_review WHERE id = %s", [review_id]) == [("published",)]

    fresh = requests.get(page_on_b, timeout=10)
    assert fresh.headers["X-Page-Cache"] == "miss"
    assert title in fresh.text


def test_an_email_queued_by_a_request_is_sent_by_the_worker(cluster):
    customer = login_of(cluster, "customer")
    before = len(mail_messages())
    session = requests.Session()
    url = f"{SITE}/accounts/password/reset/"
    asked = session.post(
        url,
        data={"csrfmiddlewaretoken": csrf_from(session, url), "email": customer["email"]},
        allow_redirects=False,
        timeout=10,
    )
    assert asked.status_code == 302

    def reset_email():
        for message in mail_messages()[before:]:
            if f"To: {customer['email']}" in message and "/accounts/password/reset/key/" in message:
                return message
        return None

    message = wait_for(reset_email, timeout=30, what="the password-reset email at the sink")
    key = re.search(r"^Message-ID: <([0-9a-f-]{36})@", message, re.MULTILINE).group(1)
    assert sql("SELECT status FROM portal_emaildelivery WHERE key = %s", [key]) == [("sent",)]
