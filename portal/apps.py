from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Heard"  # the brand name: never translated

    def ready(self):
        from portal import audit_signals, checks  # noqa: F401 (checks registers itself)

        audit_signals.connect()  # audit log lines only; see that module


class HeardAdminConfig(admin_apps.AdminConfig):
    """The admin, with Heard's moderation desk as its site."""

    default = False
    default_site = "portal.admin_site.HeardAdminSite"
