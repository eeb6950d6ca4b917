"""The Moderators group, with exactly what moderating needs: the moderation permission and
read access to what they judge. No add/change/delete on anything — decisions go through the
admin actions, which call the services — no access to the decision log beyond reading it, and
none to users or site settings. Later apps add their queues' view permissions to it."""

from django.db import migrations

GROUP = "Moderators"
PERMISSIONS = [
    ("reviews", "moderate_content"),
    ("reviews", "view_review"),
    ("reviews", "view_reviewrevision"),
    ("reviews", "view_report"),
    ("reviews", "view_pendingreview"),
    ("reviews", "view_pendingrevision"),
    ("reviews", "view_openreport"),
    ("reviews", "view_moderationdecision"),
    ("reviews", "view_provider"),
    ("reviews", "view_category"),
    ("reviews", "view_aspectquestion"),
]


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; make sure ours exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0003_moderation_queues"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
