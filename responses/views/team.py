"""Placeholder until this module is written."""

from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404


team = team_invite = member_edit = member_remove = team_invitation_revoke = team_join = _missing
settings_edit = _missing
