"""``accesshive console``: a web console over one environment's store.

What it shows is what the commands already compute, never a second copy of it: each
identity's status and steps (``operations.identity_status``, as ``accesshive status``),
health, drift and orphans (``operations.reporting.health_report``, as ``accesshive
report`` without the sync), runs and reviews from the store, and ``audit verify``. Its one
action, Retry, is ``operations.retry_identity`` (as ``accesshive retry``), only for an
operator signed in with a token made by ``accesshive console token create``.

- ``operators``: operator tokens (create, list, revoke, check), kept hashed beside the
  SCIM tokens
- ``views``: what each page shows, read from the repository and the store (no HTTP)
- ``security``: the operator session cookie and the CSRF token of forms
- ``pages``: the Starlette routes, one per page
- ``app``: ``make_app`` (routes, templates) and ``serve`` (uvicorn)
- ``templates/``: Jinja2, autoescaped, server-rendered; a few lines of script only for
  live updates
"""
