"""Security headers on every kind of page (the admin and the API docs included), and the
cookie and HTTPS settings a production environment gets."""

import json
import re
import secrets

import pytest

from tests.factories import TEST_PASSWORD, ProviderFactory, UserFactory
from tests.portal.test_settings import ROOT, _run

pytestmark = pytest.mark.django_db

PAGES = {
    "home": ("/", None),
    "provider page": ("/providers/{slug}/", None),
    "admin login": ("/admin/login/", None),
    "site login (from the admin)": ("/accounts/login/?next=%2Fadmin%2F", None),
    "admin index": ("/admin/", "staff"),
    "API docs": ("/api/docs/", None),
    "JSON API": ("/api/v1/providers/", None),
    "not found": ("/no-such-page/", None),
    "second factor setup": ("/accounts/2fa/", "customer"),
    "sessions": ("/accounts/sessions/", "customer"),
}


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def get_page(client, staff, customer):
    provider = ProviderFactory()
    users = {"staff": staff, "customer": customer}

    def get(name):
        path, who = PAGES[name]
        if who:
            client.force_login(users[who])
        return client.get(path.format(slug=provider.slug))

    return get


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_kind_of_page_sends_the_security_headers(get_page, name):
    response = get_page(name)
    assert response.status_code in (200, 302, 404), response.status_code
    csp = csp_directives(response["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    script_src = csp.get("script-src", csp["default-src"])
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert not any(source in ("*", "https:", "http:", "data:") for source in script_src)
    assert "'unsafe-inline'" not in csp.get("style-src", [])
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize("name", sorted(PAGES))
def test_html_pages_run_no_script_the_policy_would_block(get_page, name):
    """Every script is a file of ours or carries this response's nonce; no inline handlers."""
    response = get_page(name)
    if not response["Content-Type"].startswith("text/html") or response.status_code == 302:
        return
    body = response.content.decode()
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    for tag in re.findall(r"<script\b[^>]*>", body):
        src = re.search(r'\bsrc="([^"]+)"', tag)
        is_data = 'type="application/json"' in tag
        assert (
            is_data
            or (src and src.group(1).startswith("/"))
            or (nonce and f'nonce="{nonce.group(1)}"' in tag)
        ), tag
    assert not re.search(r"<[^>]+\son[a-z]+=", body), "inline event handler"


# --- Production --------------------------------------------------------------------------------

SECURITY_SETTINGS = [
    "DEBUG",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "MFA_REQUIRED",
]


@pytest.fixture(scope="module")
def production_settings():
    """The security settings a fresh process computes from .env.example (the documented
    production environment)."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    values["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {SECURITY_SETTINGS!r}}}))"
    )
    result = _run(["-c", script], values)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_environment_turns_on_https_only_cookies_and_hsts(production_settings):
    assert production_settings == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True,
        "CSRF_COOKIE_SAMESITE": "Lax",
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 63072000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "MFA_REQUIRED": True,
    }


@pytest.fixture
def production(settings, production_settings):
    for name, value in production_settings.items():
        if name != "DEBUG":
            setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    return settings


@pytest.mark.usefixtures("production")
def test_with_production_settings_cookies_are_secure_httponly_and_samesite(client):
    user = UserFactory()
    login_page = client.get("/accounts/login/", secure=True)
    csrf = login_page.cookies["csrftoken"]
    assert csrf["secure"] is True
    assert csrf["samesite"] == "Lax"

    response = client.post(
        "/accounts/login/", {"login": user.email, "password": TEST_PASSWORD}, secure=True
    )
    assert response.status_code == 302
    session = response.cookies["sessionid"]
    assert session["secure"] is True
    assert session["httponly"] is True
    assert session["samesite"] == "Lax"


@pytest.mark.usefixtures("production")
def test_with_production_settings_https_sends_hsts_and_plain_http_is_redirected(client):
    secure = client.get("/", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains; preload"

    plain = client.get("/providers/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/providers/"
    assert "Strict-Transport-Security" not in plain

    # behind the TLS proxy, the forwarded scheme counts
    proxied = client.get("/", headers={"x-forwarded-proto": "https"})
    assert proxied.status_code == 200
    assert "Strict-Transport-Security" in proxied
