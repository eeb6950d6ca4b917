"""Moderators also see and decide the business side's queues: replies, reply edits, claims."""

from django.db import migrations

PERMISSIONS = [
    ("responses", "view_pendingreply"),
    ("responses", "view_pendingreplyrevision"),
    ("responses", "view_pendingclaim"),
    ("responses", "view_reply"),
    ("responses", "view_replyrevision"),
    ("responses", "view_providerclaim"),
    ("responses", "view_membership"),
    ("responses", "view_businessevent"),
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
    dependencies = [("responses", "0001_initial"), ("reviews", "0004_moderators_group")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
