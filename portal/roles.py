"""Staff roles. The Moderators group is created by migrations (reviews 0004, and later ones
that add queues); `moderators_group()` returns it, re-creating it with the same permissions
where a database was emptied without migrating (test flushes, a restored dump)."""

from django.contrib.auth.models import Group, Permission

MODERATORS = "Moderators"
# Keep in step with the migrations that grant them (reviews 0004 and 0010, responses 0002, …).
MODERATOR_PERMISSIONS = [
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
    ("reviews", "place_consumer_alert"),
    ("reviews", "view_consumeralert"),
    ("responses", "view_pendingreply"),
    ("responses", "view_pendingreplyrevision"),
    ("responses", "view_pendingclaim"),
    ("responses", "view_reply"),
    ("responses", "view_replyrevision"),
    ("responses", "view_providerclaim"),
    ("responses", "view_membership"),
    ("responses", "view_businessevent"),
    ("responses", "view_escalatedticket"),
    ("responses", "view_ticket"),
    ("responses", "view_ticketevent"),
]


def moderators_group() -> Group:
    group, _ = Group.objects.get_or_create(name=MODERATORS)
    wanted = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in MODERATOR_PERMISSIONS},
        codename__in=[codename for _, codename in MODERATOR_PERMISSIONS],
    )
    group.permissions.add(*wanted)
    return group
