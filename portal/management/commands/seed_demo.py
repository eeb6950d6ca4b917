"""Load demo data: the demo logins (and, as later issues add them, providers and reviews).

Idempotent: running it again updates the demo users instead of duplicating them.
"""

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User

DEMO_USERS = [
    # (email, display name, password, role description, is_staff, is_superuser)
    ("customer@example.com", "Sam Customer", "demo-customer-pass", "customer", False, False),
    ("owner@example.com", "Olivia Owner", "demo-owner-pass", "business owner", False, False),
    (
        "moderator@example.com",
        "Morgan Moderator",
        "demo-moderator-pass",
        "staff moderator",
        True,
        False,
    ),
    ("admin@example.com", "Ada Admin", "demo-admin-pass", "superuser", True, True),
]


class Command(BaseCommand):
    help = "Create the demo users (and demo data) for a local Heard site."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the logins.")

    @transaction.atomic
    def handle(self, *args, **options):
        for email, name, password, _role, is_staff, is_superuser in DEMO_USERS:
            user, _ = User.objects.get_or_create(email=email, defaults={"display_name": name})
            user.display_name = name
            user.is_staff = is_staff
            user.is_superuser = is_superuser
            user.set_password(password)
            user.save()
            EmailAddress.objects.update_or_create(
                user=user, email=email, defaults={"verified": True, "primary": True}
            )
        if not options["quiet_logins"]:
            self.stdout.write(self.style.SUCCESS("Demo logins (email / password):"))
            for email, _name, password, role, *_ in DEMO_USERS:
                self.stdout.write(f"  {role:<16} {email:<24} {password}")
