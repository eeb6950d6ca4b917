"""Claims: a signed-in user asks to speak for a provider, and a moderator approves (the claimant
becomes its owner) or rejects. Each step writes its audit rows in the same transaction and the
claimant hears the outcome by email after commit."""

from allauth.account.models import EmailAddress
from django.contrib.contenttypes.models import ContentType
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from portal.emails import email_send
from responses.models import (
    BusinessEvent,
    BusinessEventKind,
    ClaimStatus,
    Membership,
    ProviderClaim,
    Role,
)
from reviews.models import Decision, ModerationDecision, Provider, RejectionReason
from reviews.pagecache import provider_page_changed
from reviews.services.moderation import _require_moderator

ROLE_AT_BUSINESS_MAX = 80
EVIDENCE_MIN = 20
EVIDENCE_MAX = 2000

# The reasons a claim may be turned down (RejectionReason codes), in words for a claimant.
CLAIM_REJECTION_REASONS = {
    RejectionReason.NOT_VERIFIED: gettext_lazy(
        "We could not confirm that you work for or speak for this business"
    ),
    RejectionReason.CONFLICT_OF_INTEREST: gettext_lazy(
        "The claim appears to come from someone with a conflicting interest"
    ),
    RejectionReason.ADVERTISING: gettext_lazy("The claim looks like spam or advertising"),
    RejectionReason.OTHER: gettext_lazy("Another reason (see the moderator's note)"),
}


def _has_verified_email(user: User) -> bool:
    return EmailAddress.objects.filter(user=user, verified=True).exists()


def _event(*, provider, actor, kind, subject=None, detail=None) -> BusinessEvent:
    return BusinessEvent.objects.create(
        provider=provider, actor=actor, kind=kind, subject=subject, detail=detail or {}
    )


def _clean_claim_input(*, role_at_business: str, work_email: str, evidence: str) -> dict:
    role_at_business = (role_at_business or "").strip()
    work_email = (work_email or "").strip()
    evidence = (evidence or "").strip()
    errors: dict[str, list[str]] = {}
    if not role_at_business:
        errors["role_at_business"] = [_("Enter your role at the business.")]
    elif len(role_at_business) > ROLE_AT_BUSINESS_MAX:
        errors["role_at_business"] = [
            _("Your role must be %(max)s characters or fewer.") % {"max": ROLE_AT_BUSINESS_MAX}
        ]
    try:
        validate_email(work_email)
    except ValidationError:
        errors["work_email"] = [_("Enter your work email address, like name@business.co.uk.")]
    if len(evidence) < EVIDENCE_MIN:
        errors["evidence"] = [
            _("Tell us how we can check your claim (at least %(min)s characters).")
            % {"min": EVIDENCE_MIN}
        ]
    elif len(evidence) > EVIDENCE_MAX:
        errors["evidence"] = [
            _("Keep it to %(max)s characters or fewer.") % {"max": intcomma(EVIDENCE_MAX)}
        ]
    if errors:
        raise ValidationError(errors)
    return {"role_at_business": role_at_business, "work_email": work_email, "evidence": evidence}


@transaction.atomic
def claim_submit(
    *, user: User, provider: Provider, role_at_business: str, work_email: str, evidence: str
) -> ProviderClaim:
    """Ask staff to confirm that `user` speaks for `provider`."""
    if not (user and user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Sign in to claim a business."))
    if not _has_verified_email(user):
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("Confirm your email address before claiming a business.")]}
        )
    if not provider.is_active:
        raise ValidationError({NON_FIELD_ERRORS: [_("This listing is no longer active.")]})
    data = _clean_claim_input(
        role_at_business=role_at_business, work_email=work_email, evidence=evidence
    )
    if Membership.objects.filter(provider=provider, user=user).exists():
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("You are already a member of this business's team.")]}
        )
    pending_message = _("You already have a claim for this business waiting for our checks.")
    if ProviderClaim.objects.filter(
        provider=provider, user=user, status=ClaimStatus.PENDING
    ).exists():
        raise ValidationError({NON_FIELD_ERRORS: [pending_message]})
    try:
        # A double-click can get past the check above; the database's one-pending-claim
        # constraint has the last word, inside a savepoint so this transaction survives.
        with transaction.atomic():
            claim = ProviderClaim.objects.create(provider=provider, user=user, **data)
    except IntegrityError:
        raise ValidationError({NON_FIELD_ERRORS: [pending_message]}) from None
    _event(
        provider=provider,
        actor=user,
        kind=BusinessEventKind.CLAIM_SUBMITTED,
        subject=user,
        detail={"claim_id": claim.pk},
    )
    return claim


@transaction.atomic
def claim_decide(
    *,
    claim: ProviderClaim,
    moderator: User,
    decision: str,
    reason: str = "",
    note: str = "",
) -> ProviderClaim:
    """Approve a pending claim (the claimant becomes an owner) or reject it, on the record."""
    _require_moderator(moderator)
    if decision not in (Decision.APPROVE, Decision.REJECT):
        raise ValidationError({"decision": [_("Approve or reject.")]})
    if decision == Decision.APPROVE:
        reason = ""
    else:
        reason = reason or RejectionReason.OTHER
        if reason not in CLAIM_REJECTION_REASONS:
            raise ValidationError({"reason": [_("Choose the reason for this decision.")]})
    note = (note or "").strip()
    # Locking the claim makes a second moderator's simultaneous decision wait, then see that
    # it was already decided.
    claim = ProviderClaim.objects.select_for_update().get(pk=claim.pk)
    if claim.status != ClaimStatus.PENDING:
        raise ValidationError(_("This claim has already been decided."))
    provider = Provider.objects.get(pk=claim.provider_id)
    claimant = User.objects.get(pk=claim.user_id)
    now = timezone.now()
    claim.status = ClaimStatus.APPROVED if decision == Decision.APPROVE else ClaimStatus.REJECTED
    claim.decided_at = now
    claim.decided_by = moderator
    claim.decision_note = note
    claim.save(update_fields=["status", "decided_at", "decided_by", "decision_note"])
    detail: dict = {"claim_id": claim.pk, "decision": decision, "reason": reason}
    if decision == Decision.APPROVE:
        detail.update(_make_owner(provider=provider, claimant=claimant, claim=claim))
        # update(), not save(): the provider's figures may be changing in another
        # transaction, and a full save would write back stale ones.
        Provider.objects.filter(pk=provider.pk).update(is_claimed=True, updated_at=now)
        provider.is_claimed = True
        provider_page_changed(provider.pk)
    record = ModerationDecision.objects.create(
        content_type=ContentType.objects.get_for_model(ProviderClaim),
        object_id=claim.pk,
        review=None,
        moderator=moderator,
        decision=decision,
        reason=reason,
        note=note,
    )
    _event(
        provider=provider,
        actor=moderator,
        kind=(
            BusinessEventKind.CLAIM_APPROVED
            if decision == Decision.APPROVE
            else BusinessEventKind.CLAIM_REJECTED
        ),
        subject=claimant,
        detail=detail,
    )
    if claimant.email:
        email_send(
            template="claim_decided",
            to=[claimant.email],
            context={
                "user": claimant,
                "claim": claim,
                "provider": provider,
                "decision": record,
                "reason_label": CLAIM_REJECTION_REASONS.get(reason, ""),
            },
        )
    return claim


def _make_owner(*, provider: Provider, claimant: User, claim: ProviderClaim) -> dict:
    """The claimant's owner membership; a member who joined while the claim waited is promoted.

    Returns what changed, for the audit row.
    """
    job_title = claim.role_at_business[:80]
    membership = (
        Membership.objects.select_for_update().filter(provider=provider, user=claimant).first()
    )
    if membership is None:
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    provider=provider, user=claimant, role=Role.OWNER, job_title=job_title
                )
        except IntegrityError:
            # They joined through a team invitation at this very moment.
            membership = Membership.objects.select_for_update().get(
                provider=provider, user=claimant
            )
        else:
            return {"membership_id": membership.pk, "before": None, "after": _state(membership)}
    before = _state(membership)
    membership.role = Role.OWNER
    membership.job_title = membership.job_title or job_title
    membership.save(update_fields=["role", "job_title"])
    return {"membership_id": membership.pk, "before": before, "after": _state(membership)}


def _state(membership: Membership) -> dict:
    return {"role": membership.role, "job_title": membership.job_title}
