"""Admin for the business side: the claims queue and the replies queues (moderation desk)."""

from responses.admin import claims, replies, tickets  # noqa: F401  (registers the admins)
