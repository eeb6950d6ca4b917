from django.urls import path

from responses.views import (
    analytics,
    claims,
    dashboard,
    exports,
    invitations,
    replies,
    team,
    tickets,
)

app_name = "responses"

urlpatterns = [
    # claims (a signed-in user asks to speak for a listing)
    path("providers/<slug:slug>/claim/", claims.claim_create, name="claim_create"),
    # the owner dashboard
    path("business/", dashboard.dashboard, name="dashboard"),
    path("business/analytics/", analytics.all_analytics_view, name="analytics_all"),
    path("business/<slug:slug>/", dashboard.inbox, name="inbox"),
    path("business/<slug:slug>/analytics/", analytics.provider_analytics_view, name="analytics"),
    path(
        "business/<slug:slug>/reviews/<int:review_id>/reply/",
        replies.reply_compose,
        name="reply_compose",
    ),
    path(
        "business/<slug:slug>/reviews/<int:review_id>/reply/withdraw/",
        replies.reply_withdraw_view,
        name="reply_withdraw",
    ),
    path("business/<slug:slug>/templates/", replies.template_list, name="template_list"),
    path("business/<slug:slug>/templates/new/", replies.template_edit, name="template_create"),
    path(
        "business/<slug:slug>/templates/<int:template_id>/",
        replies.template_edit,
        name="template_edit",
    ),
    path(
        "business/<slug:slug>/templates/<int:template_id>/delete/",
        replies.template_delete,
        name="template_delete",
    ),
    path("business/<slug:slug>/team/", team.team, name="team"),
    path("business/<slug:slug>/team/invite/", team.team_invite, name="team_invite"),
    path("business/<slug:slug>/team/<int:membership_id>/", team.member_edit, name="member_edit"),
    path(
        "business/<slug:slug>/team/<int:membership_id>/remove/",
        team.member_remove,
        name="member_remove",
    ),
    path(
        "business/<slug:slug>/team/invitations/<int:invitation_id>/revoke/",
        team.team_invitation_revoke,
        name="team_invitation_revoke",
    ),
    path("business/join/<str:token>/", team.team_join, name="team_join"),
    path("business/<slug:slug>/settings/", team.settings_edit, name="settings"),
    path("business/<slug:slug>/invitations/", invitations.invitation_list, name="invitations"),
    # CSV downloads of the provider's reviews, replies and tickets (kind: see responses.exports)
    path("business/<slug:slug>/exports/", exports.export_list, name="exports"),
    path("business/<slug:slug>/exports/<slug:kind>.csv", exports.export_download, name="export"),
    # the customer's side of an invitation: the link in the email
    path("invite/<str:token>/", invitations.invitation_open, name="invitation_open"),
    # complaint tickets: the ticket page (customer or member), the customer's list, the
    # business's queue, and the private complaint form on the provider page
    path("tickets/<int:pk>/", tickets.ticket_detail, name="ticket_detail"),
    path("accounts/tickets/", tickets.my_tickets, name="my_tickets"),
    path("business/<slug:slug>/tickets/", tickets.ticket_queue, name="ticket_queue"),
    path("providers/<slug:slug>/complain/", tickets.complaint_create, name="complaint_create"),
]
