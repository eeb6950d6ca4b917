"""factory_boy factories shared by every test module."""

import datetime as dt

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from portal.roles import moderators_group
from reviews.models import AspectQuestion, Category, Provider, Review

TEST_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    display_name = factory.Faker("first_name", locale="en_GB")
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        """Users can sign in unless built with verified=False (allauth's mandatory check)."""
        if create:
            EmailAddress.objects.create(
                user=self, email=self.email, primary=True, verified=extracted is not False
            )


class StaffFactory(UserFactory):
    is_staff = True


# --- reviews -------------------------------------------------------------------------------


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class AspectQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AspectQuestion

    category = factory.SubFactory(CategoryFactory)
    code = factory.Sequence(lambda n: f"aspect-{n}")
    text = factory.Sequence(lambda n: f"Question {n}")


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    name = factory.Sequence(lambda n: f"Provider {n}")
    slug = factory.Sequence(lambda n: f"provider-{n}")
    category = factory.SubFactory(CategoryFactory)
    address_line1 = "1 High Street"
    town = "Leeds"
    postcode = "LS1 1AA"


def this_month() -> dt.date:
    return timezone.localdate().replace(day=1)


class ReviewFactory(factory.django.DjangoModelFactory):
    """A pending review written straight to the table (use the services to publish it)."""

    class Meta:
        model = Review

    provider = factory.SubFactory(ProviderFactory)
    author = factory.SubFactory(UserFactory)
    rating = 4
    title = factory.Sequence(lambda n: f"Review title {n}")
    body = factory.Sequence(
        lambda n: f"Review number {n}: the staff were kind and the wait was short enough."
    )
    visit_month = factory.LazyFunction(this_month)
    submitted_at = factory.LazyFunction(timezone.now)


class ModeratorFactory(StaffFactory):
    """A staff member in the Moderators group (created by a data migration)."""

    @factory.post_generation
    def can_moderate(self, create, extracted, **kwargs):
        if create:
            self.groups.add(moderators_group())


def publish(review, moderator=None):
    """Publish a pending review through the moderation service (as a moderator would)."""
    from reviews.services import review_moderate

    return review_moderate(
        review=review, moderator=moderator or ModeratorFactory(), decision="approve"
    )


# --- responses: claims and teams ------------------------------------------------------------


class MembershipFactory(factory.django.DjangoModelFactory):
    """A team member written straight to the table (teams change through responses.services)."""

    class Meta:
        model = "responses.Membership"

    provider = factory.SubFactory(ProviderFactory)
    user = factory.SubFactory(UserFactory)
    role = "responder"


class ProviderClaimFactory(factory.django.DjangoModelFactory):
    """A pending claim written straight to the table (use claim_submit to go through checks)."""

    class Meta:
        model = "responses.ProviderClaim"

    provider = factory.SubFactory(ProviderFactory)
    user = factory.SubFactory(UserFactory)
    role_at_business = "Practice manager"
    work_email = factory.Sequence(lambda n: f"manager{n}@practice.example")
    evidence = "Named on the staff page of the practice website, and on the CQC register."


class TeamInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "responses.TeamInvitation"

    provider = factory.SubFactory(ProviderFactory)
    email = factory.Sequence(lambda n: f"colleague{n}@example.com")
    role = "responder"
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=14))


class InvitationFactory(factory.django.DjangoModelFactory):
    """A customer invitation written straight to the table (invitations_send also emails)."""

    class Meta:
        model = "reviews.Invitation"

    provider = factory.SubFactory(ProviderFactory)
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    expires_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))


# --- responses: complaint tickets -----------------------------------------------------------


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket written straight to the table, for test setup only: real tickets open through
    ticket_open and move through ticket_transition. Deadlines follow created_at as the
    defaults would (48 hours, 14 days)."""

    class Meta:
        model = "responses.Ticket"

    provider = factory.SubFactory(ProviderFactory)
    customer = factory.SubFactory(UserFactory)
    source = "private"
    subject = factory.Sequence(lambda n: f"Complaint {n}")
    status = "new"
    created_at = factory.LazyFunction(timezone.now)
    first_response_due = factory.LazyAttribute(lambda t: t.created_at + dt.timedelta(hours=48))
    resolution_due = factory.LazyAttribute(lambda t: t.created_at + dt.timedelta(days=14))
