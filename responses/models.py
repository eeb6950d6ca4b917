"""The business side: who speaks for a provider (claims, memberships, team invitations), what
they say in public (replies and their edits, tone templates) and its settings. Every change
goes through responses/services; BusinessEvent is the business side's audit trail."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.models import AppendOnlyModel, new_token
from reviews.models import Provider, Review

DEFAULT_REPLY_TARGET_HOURS = 48
DEFAULT_RESOLUTION_TARGET_DAYS = 14


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    RESPONDER = "responder", _("Responder")


# Who may do what on the business side; the services check these, the templates read them.
CAN_MANAGE_TEAM = frozenset({Role.OWNER})
CAN_EDIT_SETTINGS = frozenset({Role.OWNER})
CAN_EDIT_TEMPLATES = frozenset({Role.OWNER, Role.MANAGER})
CAN_INVITE_CUSTOMERS = frozenset({Role.OWNER, Role.MANAGER})
CAN_REPLY = frozenset({Role.OWNER, Role.MANAGER, Role.RESPONDER})
# The CSV exports hold customers' personal data (names, what they wrote, their complaints).
CAN_EXPORT = frozenset({Role.OWNER, Role.MANAGER})


class Membership(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices)
    # Shown publicly beside the member's name on replies, e.g. "Practice manager".
    job_title = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["provider", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "user"], name="one_membership_per_user"),
        ]

    def __str__(self):
        return gettext("%(user)s – %(role)s of %(provider)s") % {
            "user": self.user,
            "role": self.get_role_display(),
            "provider": self.provider,
        }


class ClaimStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for checks")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Not approved")


class ProviderClaim(models.Model):
    """A signed-in user asks to speak for a provider; staff check and decide."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="claims")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="provider_claims"
    )
    role_at_business = models.CharField(max_length=80)
    work_email = models.EmailField()
    evidence = models.TextField(max_length=2000)
    status = models.CharField(
        max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="claims_decided",
    )
    decision_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("provider claim")
        verbose_name_plural = _("provider claims")
        ordering = ["created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="claim_queue_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "user"],
                condition=Q(status="pending"),
                name="one_pending_claim_per_user",
            ),
        ]

    def __str__(self):
        return gettext("Claim of %(provider)s by %(user)s") % {
            "provider": self.provider,
            "user": self.user,
        }


class TeamInvitation(models.Model):
    """An owner invites a colleague by email; they accept after signing up or in."""

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="team_invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices)
    job_title = models.CharField(max_length=80, blank=True)
    token = models.CharField(max_length=64, unique=True, default=new_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("team invitation")
        verbose_name_plural = _("team invitations")
        ordering = ["-created_at"]

    def __str__(self):
        return gettext("Invitation to %(email)s for %(provider)s") % {
            "email": self.email,
            "provider": self.provider,
        }


class ResponseSettings(models.Model):
    """A provider's own targets (calendar hours: the internet has no opening hours)."""

    provider = models.OneToOneField(
        Provider, on_delete=models.CASCADE, related_name="response_settings"
    )
    reply_target_hours = models.PositiveIntegerField(default=DEFAULT_REPLY_TARGET_HOURS)
    resolution_target_days = models.PositiveIntegerField(default=DEFAULT_RESOLUTION_TARGET_DAYS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("response settings")
        verbose_name_plural = _("response settings")

    def __str__(self):
        return gettext("Targets for %(provider)s") % {"provider": self.provider}


class ResponseTemplate(models.Model):
    """A provider's own tone-of-voice template (house defaults ship in responses/tone.py)."""

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="response_templates"
    )
    name = models.CharField(max_length=80)
    body = models.TextField(max_length=5000)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ReplyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Waiting for moderation")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Not published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Reply(models.Model):
    """The business's one public reply to a review, moderated like reviews."""

    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="reply")
    # The provider the reply speaks for (always review.provider), kept for scoping lists.
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="replies")
    responder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="replies"
    )
    # The name and title shown with the reply, as they were when it was submitted.
    responder_name = models.CharField(max_length=80)
    responder_title = models.CharField(max_length=80, blank=True)
    body = models.TextField(max_length=5000)
    status = models.CharField(max_length=10, choices=ReplyStatus.choices, default=ReplyStatus.DRAFT)
    flags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # First submission: the business's response time runs from the review's publication to
    # this moment (moderation time is ours, not theirs).
    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reply")
        verbose_name_plural = _("replies")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "submitted_at"], name="reply_queue_idx"),
            # A business's replies by status, newest published first (the inbox's tabs).
            models.Index(fields=["provider", "status", "-published_at"], name="reply_provider_idx"),
            # A business's replies in the order its CSV export writes them.
            models.Index(fields=["provider", "created_at", "id"], name="reply_export_idx"),
            # The admin's list of every reply, newest first (its ordering, ending in the id).
            models.Index(fields=["-created_at", "-id"], name="reply_newest_idx"),
        ]

    def __str__(self):
        return gettext("Reply to review %(id)s") % {"id": self.review_id}


class ReplyRevisionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for moderation")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Not approved")
    SUPERSEDED = "superseded", _("Replaced by a later edit")


class ReplyRevision(models.Model):
    """An edit of a published reply; the published text stays until the edit is approved."""

    reply = models.ForeignKey(Reply, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField(max_length=5000)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=ReplyRevisionStatus.choices, default=ReplyRevisionStatus.PENDING
    )
    flags = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("reply revision")
        verbose_name_plural = _("reply revisions")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["reply"],
                condition=Q(status="pending"),
                name="one_pending_revision_per_reply",
            ),
        ]

    def __str__(self):
        return gettext("Edit of reply %(id)s") % {"id": self.reply_id}


class BusinessEventKind(models.TextChoices):
    CLAIM_SUBMITTED = "claim_submitted", _("Claim submitted")
    CLAIM_APPROVED = "claim_approved", _("Claim approved")
    CLAIM_REJECTED = "claim_rejected", _("Claim rejected")
    MEMBER_INVITED = "member_invited", _("Team member invited")
    INVITATION_REVOKED = "invitation_revoked", _("Team invitation revoked")
    MEMBER_JOINED = "member_joined", _("Team member joined")
    ROLE_CHANGED = "role_changed", _("Role changed")
    MEMBER_REMOVED = "member_removed", _("Team member removed")
    SETTINGS_CHANGED = "settings_changed", _("Settings changed")
    TEMPLATE_SAVED = "template_saved", _("Response template saved")
    TEMPLATE_DELETED = "template_deleted", _("Response template deleted")
    CUSTOMERS_INVITED = "customers_invited", _("Customers invited to review")
    DATA_EXPORTED = "data_exported", _("Data downloaded as CSV")


class BusinessEvent(AppendOnlyModel):
    """The business side's audit trail: who changed what about a provider's team and settings."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=BusinessEventKind.choices)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("business event")
        verbose_name_plural = _("business events")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["provider", "-created_at"], name="business_event_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.provider})"


# --- Moderation queues (proxies, one admin changelist each) -----------------------------------
class PendingReply(Reply):
    class Meta:
        proxy = True
        verbose_name = _("pending reply")
        verbose_name_plural = _("queue: replies waiting")


class PendingReplyRevision(ReplyRevision):
    class Meta:
        proxy = True
        verbose_name = _("pending reply edit")
        verbose_name_plural = _("queue: reply edits waiting")


class PendingClaim(ProviderClaim):
    class Meta:
        proxy = True
        verbose_name = _("pending claim")
        verbose_name_plural = _("queue: provider claims waiting")


# --- Complaint tickets ----------------------------------------------------------------------
class TicketStatus(models.TextChoices):
    NEW = "new", _("New")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_CUSTOMER = "awaiting_customer", _("Waiting for the customer")
    RESOLVED = "resolved", _("Resolution proposed")
    CLOSED = "closed", _("Closed")
    ESCALATED = "escalated", _("Escalated to Heard staff")


OPEN_TICKET_STATUSES = (
    TicketStatus.NEW,
    TicketStatus.ACKNOWLEDGED,
    TicketStatus.IN_PROGRESS,
    TicketStatus.AWAITING_CUSTOMER,
    TicketStatus.RESOLVED,
    TicketStatus.ESCALATED,
)


class TicketSource(models.TextChoices):
    LOW_RATING = "low_rating", _("A review of 1 or 2 stars")
    RESOLUTION_REQUESTED = "resolution_requested", _("The reviewer asked for it to be resolved")
    PRIVATE = "private", _("A private complaint")


class PutRight(models.TextChoices):
    YES = "yes", _("Yes")
    PARTLY = "partly", _("Partly")
    NO = "no", _("No")


class Ticket(models.Model):
    """A complaint, tracked from the moment it is made until it is put right (or closed)."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="tickets")
    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="tickets"
    )
    review = models.OneToOneField(
        Review, on_delete=models.SET_NULL, null=True, blank=True, related_name="ticket"
    )
    source = models.CharField(max_length=24, choices=TicketSource.choices)
    subject = models.CharField(max_length=160)
    status = models.CharField(max_length=20, choices=TicketStatus.choices, default=TicketStatus.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    created_at = models.DateTimeField()
    first_response_due = models.DateTimeField()
    resolution_due = models.DateTimeField()
    first_responded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)  # the latest proposed resolution
    closed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolution_rejected_at = models.DateTimeField(null=True, blank=True)
    resolution_summary = models.TextField(blank=True)
    # Did the customer confirm the resolution (closed by them), or did it close by itself?
    confirmed_by_customer = models.BooleanField(default=False)
    put_right = models.CharField(max_length=8, choices=PutRight.choices, blank=True)
    # Public statement of a change the business made because of this complaint.
    change_made = models.TextField(blank=True)
    change_made_at = models.DateTimeField(null=True, blank=True)
    # Markers that make check_sla idempotent: each is set once, with its event.
    holding_sent_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["provider", "status", "first_response_due"], name="ticket_queue_idx"
            ),
            models.Index(fields=["customer", "-created_at"], name="ticket_customer_idx"),
            models.Index(fields=["status", "escalated_at"], name="ticket_escalated_idx"),
            models.Index(fields=["provider", "-change_made_at"], name="ticket_change_idx"),
            # A business's complaints in the order its CSV export writes them.
            models.Index(fields=["provider", "created_at", "id"], name="ticket_export_idx"),
            # The admin's list of every ticket, newest first (its ordering, ending in the id).
            models.Index(fields=["-created_at", "-id"], name="ticket_newest_idx"),
        ]

    def __str__(self):
        return gettext("Ticket %(id)s: %(subject)s") % {"id": self.pk, "subject": self.subject}

    @property
    def is_open(self) -> bool:
        return self.status != TicketStatus.CLOSED

    @property
    def public_outcome(self) -> str:
        """What the public sees on the review (no private detail, ever)."""
        if self.put_right == PutRight.NO:
            return str(_("Not resolved"))
        if self.status == TicketStatus.CLOSED and self.confirmed_by_customer:
            return str(_("Resolved — confirmed by the reviewer"))
        if self.resolution_rejected_at and self.status != TicketStatus.RESOLVED:
            return str(_("Not resolved"))
        if self.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return str(_("The business says this is resolved"))
        return str(_("Complaint in progress"))


class EventKind(models.TextChoices):
    OPENED = "opened", _("Opened")
    STATUS = "status", _("Status changed")
    MESSAGE = "message", _("Message")
    NOTE = "note", _("Internal note")
    ASSIGNMENT = "assignment", _("Assigned")
    CHANGE_MADE = "change_made", _("Change made")
    BREACH = "breach", _("Deadline missed")
    HOLDING = "holding", _("Automatic acknowledgement")
    REMINDER = "reminder", _("Reminder sent")
    PUT_RIGHT = "put_right", _("Was this put right?")


class ActorRole(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    MEMBER = "member", _("Business")
    STAFF = "staff", _("Heard staff")
    SYSTEM = "system", _("Automatic")


class TicketEvent(AppendOnlyModel):
    """Everything that happens to a ticket, in order; never updated or deleted."""

    # PROTECT: a ticket (and so its provider) cannot be deleted with its history; history is
    # kept, and erasure de-identifies instead.
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_role = models.CharField(max_length=10, choices=ActorRole.choices)
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    from_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    body = models.TextField(blank=True)
    # Internal notes are visible to the business (and staff) only, never to the customer.
    internal = models.BooleanField(default=False)
    # What a BREACH or REMINDER event is about ("first_response", "resolution").
    subject = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="ticket_event_idx"),
            # The admin's event log across all tickets, newest first.
            models.Index(fields=["-created_at", "-id"], name="ticket_event_newest_idx"),
        ]

    def __str__(self):
        return gettext("%(kind)s on ticket %(id)s") % {
            "kind": self.get_kind_display(),
            "id": self.ticket_id,
        }


class EscalatedTicket(Ticket):
    class Meta:
        proxy = True
        verbose_name = _("escalated ticket")
        verbose_name_plural = _("queue: escalated tickets")
