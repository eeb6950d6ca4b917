"""Moderators see escalated tickets and their full history (they act through the service)."""

from django.db import migrations

PERMISSIONS = [
    ("responses", "view_escalatedticket"),
    ("responses", "view_ticket"),
    ("responses", "view_ticketevent"),
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


class Migration(migrations.Migration):
    dependencies = [("responses", "0003_tickets")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
