"""Moderators may place consumer alerts and see them (lifting one early is for superusers)."""

from django.db import migrations

PERMISSIONS = [
    ("reviews", "place_consumer_alert"),
    ("reviews", "view_consumeralert"),
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


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="reviews",
                codename__in=[codename for _, codename in PERMISSIONS],
            )
        )


class Migration(migrations.Migration):
    dependencies = [("reviews", "0009_consumer_alert")]

    operations = [migrations.RunPython(grant, revoke)]
