import json
import re
from unittest import mock

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("/", "How Heard works"),
        ("/reviews-policy/", "How ratings are scored"),
        ("/privacy/", "Your rights"),
        ("/accounts/login/", "Sign In"),
        ("/accounts/signup/", "Display name"),
    ],
)
def test_public_pages_render_in_the_site_shell(client, url, text):
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert text in body
    assert '<html lang="en-GB">' in body
    assert 'class="skip-link" href="#main"' in body
    assert '<main id="main"' in body
    assert 'href="/reviews-policy/"' in body


def test_admin_login_goes_through_the_protected_site_login(client):
    response = client.get("/admin/login/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0].startswith("/accounts/login/?next=")


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_policy_page_states_the_score_formula_with_the_configured_prior(client, settings):
    settings.RATING_PRIOR_WEIGHT = 9
    settings.RATING_PRIOR_MEAN = 3.25
    body = client.get("/reviews-policy/").content.decode()
    assert "9 imaginary reviews at 3.25 stars" in body


def test_health_reports_ok_after_a_real_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_is_503_when_the_database_is_unreachable(client):
    with mock.patch.object(
        connection, "cursor", side_effect=OperationalError("could not connect to server")
    ):
        response = client.get("/health/")
    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "error", "database": "unavailable"}


def _nonce(response):
    header = response["Content-Security-Policy"]
    match = re.search(r"'nonce-([^']+)'", header)
    assert match, header
    return match.group(1)


def test_every_response_has_a_strict_csp_with_a_fresh_nonce(client):
    first, second = client.get("/"), client.get("/")
    header = first["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ):
        assert directive in header
    assert "unsafe-inline" not in header
    assert _nonce(first) != _nonce(second)
    # the nonce in the header is the one the page's script carries
    assert f'nonce="{_nonce(first)}"' in first.content.decode()


def test_admin_pages_are_served_under_the_same_csp(client, staff):
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "default-src 'self'" in response["Content-Security-Policy"]


def test_security_headers(client):
    response = client.get("/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
