"""allauth adapter: sends allauth's emails through Heard's queued email helper."""

from allauth.account.adapter import DefaultAccountAdapter

from portal.emails import email_send_rendered


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix, email, context):
        # allauth renders its own templates; we only change how the message leaves, so that
        # it goes out after commit, through the task queue, with retries.
        msg = self.render_mail(template_prefix, email, context)
        email_send_rendered(message=msg)
