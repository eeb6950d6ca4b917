"""Every change on the business side, one function per operation, each in one transaction with
its audit record: claims and teams (claims, team), customer invitations (invitations), public
replies (replies). Import from the submodule, e.g. `from responses.services.replies import
reply_submit`."""
