"""Settings come from the environment; production mistakes stop the process at start-up."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args, env_overrides, drop=()):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    # Only what we set counts: no DATABASE_URL etc. leaking in from the test run.
    for name in (
        "DEBUG",
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "CACHE_URL",
        "EMAIL_URL",
        "TASKS_BACKEND",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    ):
        env.pop(name, None)
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _run(["manage.py", "check"], {"DEBUG": "False", "ALLOWED_HOSTS": "heard.example"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=False" in result.stderr


def test_refuses_to_start_without_allowed_hosts_when_debug_is_off():
    result = _run(["manage.py", "check"], {"DEBUG": "False", "SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG=False" in result.stderr


def test_unknown_task_backend_is_a_clear_error():
    result = _run(["manage.py", "check"], {"TASKS_BACKEND": "celery"})
    assert result.returncode != 0
    assert "TASKS_BACKEND must be one of" in result.stderr


def test_deploy_checks_pass_with_the_documented_production_environment():
    """The production block of .env.example is the environment `check --deploy` is run with."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    assert values["DEBUG"] == "False"
    values["SECRET_KEY"] = secrets.token_urlsafe(50)
    # The example points at PostgreSQL and Redis; the deploy checks do not connect to them.
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], values)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_signatures_made_with_an_earlier_key_hold_while_it_is_in_secret_key_fallbacks():
    """Rotating SECRET_KEY (docs/deploy.md): sessions and links signed with the old key keep
    working while it is listed in SECRET_KEY_FALLBACKS, and stop once it is taken out."""
    old = secrets.token_urlsafe(50)
    sign_with_old_then_verify = (
        "from django.core import signing; "
        f"print(signing.loads(signing.dumps('still signed in', key='{old}')))"
    )
    production = {"DEBUG": "False", "ALLOWED_HOSTS": "heard.example"}
    production["SECRET_KEY"] = secrets.token_urlsafe(50)
    fallbacks = f"{secrets.token_urlsafe(50)},{old}"
    command = ["manage.py", "shell", "--no-imports", "-c", sign_with_old_then_verify]

    accepted = _run(command, {**production, "SECRET_KEY_FALLBACKS": fallbacks})
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.strip() == "still signed in"

    refused = _run(command, production)
    assert refused.returncode != 0
    assert "BadSignature" in refused.stderr


PRODUCTION = {"DEBUG": "False", "ALLOWED_HOSTS": "heard.example", "TASKS_BACKEND": "dummy"}
PRINT_SMTP_OPTIONS = (
    "from django.conf import settings; o = settings.MAILERS['default']['OPTIONS']; "
    "print(o['use_tls'], o['use_ssl'], o['port'], o['username'])"
)


def test_documented_email_urls_choose_the_documented_encryption():
    """docs/deploy.md, the README and .env.example: smtp+tls:// is STARTTLS, smtp+ssl://
    implicit TLS, smtp:// none at all, and django-environ's smtps:// STARTTLS too."""
    command = ["manage.py", "shell", "--no-imports", "-c", PRINT_SMTP_OPTIONS]
    production = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    expected = {
        "smtp+tls://user:pass@smtp.example.org:587": "True False 587 user",
        "smtp+ssl://user:pass@smtp.example.org:465": "False True 465 user",
        "smtps://user:pass@smtp.example.org:587": "True False 587 user",
        "smtp://user:pass@smtp.example.org:587": "False False 587 user",
    }
    for url, options in expected.items():
        result = _run(command, {**production, "EMAIL_URL": url})
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == options, url


def test_check_warns_when_smtp_credentials_would_go_unencrypted_in_production():
    production = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}
    command = ["manage.py", "check", "--fail-level", "WARNING"]

    clear = _run(command, {**production, "EMAIL_URL": "smtp://user:pass@smtp.example.org:587"})
    assert clear.returncode != 0
    assert "heard.W001" in clear.stderr + clear.stdout

    for fine in (
        {**production, "EMAIL_URL": "smtp+tls://user:pass@smtp.example.org:587"},
        {**production, "EMAIL_URL": "smtp+ssl://user:pass@smtp.example.org:465"},
        {**production, "EMAIL_URL": "smtp://10.0.0.3:25"},  # a relay, no password to protect
        {"DEBUG": "True", "EMAIL_URL": "smtp://user:pass@127.0.0.1:1025"},  # the demo
    ):
        result = _run(command, fine)
        assert result.returncode == 0, (fine, result.stdout + result.stderr)
        assert "heard.W001" not in result.stdout + result.stderr
