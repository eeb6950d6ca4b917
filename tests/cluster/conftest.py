"""The cluster tests run against `make cluster` (deploy/cluster.sh): nginx on 127.0.0.1:8300
over two gunicorn instances (a on :8301, b on :8302), one task worker and an SMTP sink keeping
each email in var/cluster/mail/, all on the database heard_cluster and Redis. They are marked
`cluster`, left out of the ordinary run, and run by .ci/run after the main suites:

    make cluster && .venv/bin/pytest -m cluster tests/cluster; make cluster-stop

Where no cluster runs, the first test starts one (and leaves it for make cluster-stop). Every
request goes to 127.0.0.1; the write and fault tests give each request its own loopback
source address (127.x.y.z), as many clients have many addresses, so that the per-address rate
limits count as they would in production.
"""

import itertools
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import requests
from requests.adapters import HTTPAdapter

ROOT = Path(__file__).resolve().parents[2]
DIR = ROOT / "var" / "cluster"
MAIL = DIR / "mail"
SITE = "http://127.0.0.1:8300"
INSTANCE = {"a": "http://127.0.0.1:8301", "b": "http://127.0.0.1:8302"}
DB = "heard_cluster"
PG = "postgres://postgres@127.0.0.1:5432"
PYTHON = ROOT / ".venv" / "bin" / "python"
SCRIPT = ROOT / "deploy" / "cluster.sh"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.cluster)
    # The backup drill last, so that the dump holds what every other test wrote.
    items.sort(key=lambda item: Path(str(item.fspath)).name == "test_backup.py")


def cluster_script(*args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        ["/bin/bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"cluster.sh {' '.join(args)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def healthy(url: str) -> bool:
    try:
        return requests.get(f"{url}/health/", timeout=3).status_code == 200
    except requests.RequestException:
        return False


def cluster_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in (DIR / "heard.env").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            env[name] = value
    return env


def manage(*args: str, timeout: float = 120, env: dict | None = None) -> str:
    """manage.py with the cluster's own environment (as its processes run), and `env` over it."""
    result = subprocess.run(
        [str(PYTHON), str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**cluster_env(), **(env or {})},
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def django_shell(code: str) -> str:
    return manage("shell", "--no-imports", "-c", code)


def sql(query: str, params=None, *, db: str = DB) -> list[tuple]:
    with psycopg.connect(f"{PG}/{db}", autocommit=True) as connection:
        return connection.execute(query, params).fetchall()


def pid_of(name: str) -> int:
    return int((DIR / f"{name}.pid").read_text())


def kill_group(name: str) -> None:
    """SIGKILL a cluster process and everything in its process group (gunicorn's workers)."""
    os.killpg(pid_of(name), signal.SIGKILL)


_addresses = itertools.count(1)


def next_address() -> str:
    """A loopback address of its own for one client (127.20.0.1, 127.20.0.2, ...), different
    on each call, in each run of the tests: the time makes the third octet."""
    n = next(_addresses)
    return f"127.{20 + (int(time.time()) // 60) % 200}.{n // 250}.{n % 250 + 1}"


class SourceAddressAdapter(HTTPAdapter):
    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str) -> requests.Session:
    """A requests session whose connections come from `address` (a loopback address)."""
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(address))
    return session


def csrf_from(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=10)
    assert page.status_code == 200, (url, page.status_code)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def mail_messages() -> list[str]:
    return [path.read_text() for path in sorted(MAIL.glob("*.eml"))]


def wait_for(condition, *, timeout: float, interval: float = 0.25, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(interval)
    pytest.fail(f"not within {timeout:.0f} s: {what}")


@pytest.fixture(scope="session", autouse=True)
def cluster():
    """The running cluster; started here when none runs (make cluster-stop stops it)."""
    if not all(healthy(url) for url in (SITE, *INSTANCE.values())):
        cluster_script("start", timeout=600)
    assert all(healthy(url) for url in (SITE, *INSTANCE.values()))
    return json.loads((DIR / "logins.json").read_text())


@pytest.fixture(scope="session")
def customers(cluster):
    """600 fresh customers with verified addresses and API tokens: [(id, email, token)]."""
    run = f"{time.time_ns():x}"
    out = django_shell(
        f"""
import json
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework.authtoken.models import Token
User = get_user_model()
password = make_password("cluster-pass")  # hashed once: they sign in with their tokens
users = User.objects.bulk_create(
    User(email="load-{run}-%d@example.com" % n, password=password, display_name="Load %d" % n)
    for n in range(600)
)
EmailAddress.objects.bulk_create(
    EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in users
)
tokens = Token.objects.bulk_create(Token(user=user, key=Token.generate_key()) for user in users)
made = [(user.pk, user.email, token.key) for user, token in zip(users, tokens)]
print(json.dumps(made))
"""
    )
    return [tuple(row) for row in json.loads(out.strip().splitlines()[-1])]


@pytest.fixture(scope="session")
def provider_slugs(cluster):
    return [row[0] for row in sql("SELECT slug FROM reviews_provider ORDER BY id")]


def this_month() -> str:
    return time.strftime("%Y-%m-01")


def submit_review(token: str, slug: str, title: str, *, base: str = SITE) -> requests.Response:
    """POST /api/v1/reviews/ as the customer with `token`, from a loopback address of its own."""
    with client_from(next_address()) as client:
        return client.post(
            f"{base}/api/v1/reviews/",
            json={
                "provider": slug,
                "rating": 1 + len(title) % 5,
                "title": title,
                "body": "Seen on time, treated kindly, and the follow-up call came as promised.",
                "visit_date": this_month(),
            },
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )


def password_reset(email: str) -> int:
    """Asks for a password-reset email for `email` through nginx (a queued email)."""
    with client_from(next_address()) as client:
        url = f"{SITE}/accounts/password/reset/"
        token = csrf_from(client, url)
        asked = client.post(
            url, data={"csrfmiddlewaretoken": token, "email": email}, allow_redirects=False
        )
        return asked.status_code


def messages_to(email: str) -> list[str]:
    to = re.compile(rf"^To: {re.escape(email)}\r?$", re.MULTILINE)
    return [message for message in mail_messages() if to.search(message)]


def message_id(message: str) -> str:
    return re.search(r"^Message-ID: (<[^>]+>)", message, re.MULTILINE).group(1)
