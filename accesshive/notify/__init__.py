"""Notifications: telling people when something needs them.

``events`` turns what a command found (a failed apply, a source that is down, orders
waiting for review, drift, orphans, a leaver pushed by an identity provider) into
``Event``s, pure and keyed so that the same finding is one event however often it is
found. ``deliver`` sends each event to the targets the ``notifications`` policy names
(a Slack-compatible webhook, or a generic JSON POST signed with HMAC-SHA256), retries,
records each delivery in the store (once per event and target; an undelivered one is
sent again by the next run) and audits it. A notification that cannot be delivered
never changes the outcome of the command that found it.
"""

from accesshive.notify.deliver import Outcome, notify
from accesshive.notify.events import Event

__all__ = ["Event", "Outcome", "notify"]
