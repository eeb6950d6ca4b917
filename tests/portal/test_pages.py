import json
import re
from unittest import mock
from urllib.robotparser import RobotFileParser

import pytest
import redis
from django.contrib.staticfiles import finders
from django.db import OperationalError, connection

from portal import views

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


SITE_CHROME = (
    '<html lang="en-GB">',
    'class="skip-link" href="#main"',
    '<header class="site-header">',
    'class="site-header__brand" href="/"',
    '<main id="main"',
    '<footer class="site-footer">',
    'href="/static/css/heard.css"',
)


@pytest.mark.parametrize(
    ("path", "status", "heading"),
    [
        ("/test-errors/403/", 403, "You cannot do this"),
        ("/no-such-page/", 404, "Page not found"),
        ("/test-errors/429/", 429, "Too many attempts"),
        ("/test-errors/500/", 500, "Sorry, something went wrong"),
    ],
)
def test_error_pages_have_their_status_and_the_site_chrome(client, settings, path, status, heading):
    settings.ROOT_URLCONF = "tests.portal.error_urls"
    client.raise_request_exception = False
    response = client.get(path)
    body = response.content.decode()
    assert response.status_code == status
    assert f"<h1>{heading}</h1>" in body
    assert f"Error {status}" in body
    for piece in SITE_CHROME:
        assert piece in body, piece
    assert "style=" not in body  # the CSP allows no inline styles
    assert 'href="/">' in body or 'href="/"' in body  # a way back to the home page


@pytest.mark.parametrize("path", ["/test-errors/403/", "/no-such-page/", "/test-errors/429/"])
def test_error_pages_rendered_with_a_request_keep_the_navigation(client, settings, path):
    settings.ROOT_URLCONF = "tests.portal.error_urls"
    body = client.get(path).content.decode()
    assert 'role="search"' in body and 'href="/reviews-policy/"' in body


def test_the_429_page_says_how_long_to_wait(client, settings):
    settings.ROOT_URLCONF = "tests.portal.error_urls"
    response = client.get("/test-errors/429/")
    assert response["Retry-After"] == "120"
    assert 'class="message message--error" role="alert"' in response.content.decode()


def test_the_500_page_needs_no_database_context_processor_or_url(settings):
    """Django renders 500.html with an empty context when anything may be broken: the page
    must come out whole with the database down and without any context processor."""
    from django.template.loader import get_template, render_to_string

    source = get_template("500.html").template.source
    assert "{% url" not in source and "{{ user" not in source and "SITE_NAME" not in source
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"]}}
    ]
    settings.TEMPLATES[0]["OPTIONS"]["context_processors"] = []
    with mock.patch.object(connection, "cursor", side_effect=OperationalError("down")):
        body = render_to_string("500.html")
    assert "<h1>Sorry, something went wrong</h1>" in body
    for piece in SITE_CHROME:
        assert piece in body, piece


def test_policy_page_states_the_score_formula_with_the_configured_prior(client, settings):
    settings.RATING_PRIOR_WEIGHT = 9
    settings.RATING_PRIOR_MEAN = 3.25
    body = client.get("/reviews-policy/").content.decode()
    assert "9 imaginary reviews at 3.25 stars" in body


def test_health_reports_ok_after_a_real_query_and_a_cache_read(client, django_assert_num_queries):
    with (
        django_assert_num_queries(1),
        mock.patch.object(views.cache, "get", wraps=views.cache.get) as cache_get,
    ):
        response = client.get("/health/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"]
    cache_get.assert_called_once_with(views.HEALTH_CACHE_KEY)


def test_health_is_503_when_the_database_is_unreachable(client):
    with mock.patch.object(
        connection, "cursor", side_effect=OperationalError("could not connect to server")
    ):
        response = client.get("/health/")
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "error",
        "database": "unavailable",
        "cache": "ok",
    }


def test_health_is_503_when_the_cache_is_unreachable(client, django_assert_num_queries):
    # What the Redis client raises when Redis refuses or stops answering (not a Django error).
    down = redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")
    with (
        django_assert_num_queries(1),
        mock.patch.object(views.cache, "get", side_effect=down),
    ):
        response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "ok", "cache": "unavailable"}


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


def test_robots_txt_lets_crawlers_read_public_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    body = response.content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in body.splitlines()
    robots = RobotFileParser()
    robots.parse(body.splitlines())
    for public in ("/", "/providers/", "/providers/riverside-dental/", "/reviews/1/", "/stats/"):
        assert robots.can_fetch("Googlebot", public), public
    # Lighthouse fails a page that robots.txt blocks, and the form is reached from public pages.
    assert robots.can_fetch("Googlebot", "/providers/riverside-dental/review/")
    for private in ("/accounts/login/", "/business/", "/tickets/1/", "/admin/", "/api/v1/"):
        assert not robots.can_fetch("Googlebot", private), private


def test_robots_txt_names_the_sitemap_with_the_scheme_the_proxy_reports(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["heard.example.org"]
    response = client.get(
        "/robots.txt", headers={"host": "heard.example.org", "x-forwarded-proto": "https"}
    )
    assert "Sitemap: https://heard.example.org/sitemap.xml" in response.content.decode()


def test_pages_name_their_icons_and_favicon_ico_leads_to_one(client):
    body = client.get("/").content.decode()
    assert 'rel="icon" href="/static/img/favicon.svg" type="image/svg+xml"' in body
    assert 'rel="apple-touch-icon" href="/static/img/apple-touch-icon.png"' in body
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/img/favicon.ico"
    assert finders.find("img/favicon.ico")
    assert finders.find("img/apple-touch-icon.png")
