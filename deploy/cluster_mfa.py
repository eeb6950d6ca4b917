"""Second factors for the demo logins of `make cluster`, which runs as production does, with
MFA_REQUIRED on: staff, owners and managers cannot reach the admin, the dashboard or the API
without one, and the seed gives nobody an authenticator.

`enroll FILE` gives each demo login that needs a second factor an authenticator app (a fresh
TOTP secret) and recovery codes, and writes every demo login to FILE (JSON, mode 0600):
email, password, role, and for those enrolled the TOTP secret, its otpauth:// URI (for a phone)
and the recovery codes. Nothing is weakened: the codes are checked exactly as in production.
`code FILE EMAIL` prints the code that login's authenticator shows now.

Run with the cluster's environment, from the project directory (deploy/cluster.sh does both):
    .venv/bin/python deploy/cluster_mfa.py enroll var/cluster/logins.json
    .venv/bin/python deploy/cluster_mfa.py code var/cluster/logins.json moderator@example.com
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from allauth.mfa.adapter import get_adapter  # noqa: E402
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes  # noqa: E402
from allauth.mfa.totp.internal.auth import (  # noqa: E402
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from allauth.mfa.utils import is_mfa_enabled  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.middleware import mfa_required_for  # noqa: E402
from accounts.models import User  # noqa: E402
from portal.demo_business import RESPONDER  # noqa: E402
from portal.management.commands.seed_demo import DEMO_USERS  # noqa: E402

PERIOD = 30  # allauth's MFA_TOTP_PERIOD default, which Heard keeps


def demo_logins() -> list[tuple[str, str, str]]:
    """(email, password, role) of every demo login seed_demo creates."""
    logins = [(email, password, role) for email, _name, password, role, *_ in DEMO_USERS]
    return [*logins, (RESPONDER[0], RESPONDER[2], "business responder")]


@transaction.atomic
def enroll(path: Path) -> None:
    records = []
    for email, password, role in demo_logins():
        user = User.objects.get(email=email)
        record = {"email": email, "password": password, "role": role, "totp_secret": None}
        if mfa_required_for(user):
            if is_mfa_enabled(user):
                raise SystemExit(f"{email} already has a second factor: seed a fresh database")
            secret = generate_totp_secret()
            TOTP.activate(user, secret)
            codes = RecoveryCodes.activate(user).get_unused_codes()
            record.update(
                totp_secret=secret,
                otpauth_uri=get_adapter().build_totp_url(user, secret),
                recovery_codes=codes,
            )
        records.append(record)
    document = {
        "site": settings.SITE_URL,
        "written_at": timezone.now().isoformat(timespec="seconds"),
        "totp": {"algorithm": "SHA1", "digits": 6, "period": PERIOD},
        "note": (
            "Demo logins of make cluster. Those with a totp_secret are asked for a code after "
            "the password: deploy/cluster.sh totp EMAIL prints it. A code is accepted once; "
            "the next one comes 30 seconds later."
        ),
        "logins": records,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(document, out, indent=2)
        out.write("\n")


def code(path: Path, email: str) -> str:
    logins = {login["email"]: login for login in json.loads(path.read_text())["logins"]}
    if not (logins.get(email) or {}).get("totp_secret"):
        raise SystemExit(f"{email} has no authenticator in {path}")
    counter = int(timezone.now().timestamp()) // PERIOD
    return format_hotp_value(hotp_value(logins[email]["totp_secret"], counter))


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "enroll":
        enroll(Path(argv[1]))
    elif len(argv) == 3 and argv[0] == "code":
        print(code(Path(argv[1]), argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
