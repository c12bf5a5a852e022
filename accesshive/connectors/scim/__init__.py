"""The ``scim`` connector: users and groups on a SCIM 2.0 service provider (RFC 7643/7644).

Settings (the ``connection`` keys, with an example) and the attribute mapping are
documented in ``_settings.py``; how it talks (scim2-models, scim2-client, httpx) in
``_session.py``.

Behaviour:

- ``check()`` probes ``/ServiceProviderConfig``, ``/ResourceTypes`` and ``/Schemas``
  (a 404 or 501 means "not published": RFC defaults are assumed), checks that every
  mapped attribute is in the published User schema and every entitlement has a
  Group, then reads one user (credentials).
- Reads page with ``startIndex``/``count`` and ``attributes=`` (only what is
  managed), continue when a page is shorter than asked, and fail closed when
  ``totalResults`` is missing or changes, a page repeats an id or comes back
  empty early, or a page fails (a 429 page is retried after its Retry-After).
- Answers are read the way their endpoint implies (``_quirks.read_leniently``):
  ``schemas``/``meta`` left out, names or canonical values in another case, booleans
  and numbers in other spellings, undeclared attributes; verification compares the
  values read, never their representation. Writes stay RFC-conformant. Each answer
  is decoded once (orjson) and scim2-client reads that body. Two kinds of answer are
  checked (status, SCIM ``Error``, a JSON object) without being built into models,
  because nothing reads them as resources and a Group holds every member: a Group
  read to verify a batch's grants (its members' values and types are checked) and a
  Group's answer to a member PATCH (never proof of a member).
- Create POSTs; a 409 uniqueness conflict adopts the account found by userName,
  externalId, the identity attribute or the correlation attributes (filters, or
  paging when filtering is off). Updates read the account (ETag), then PATCH only
  the attributes that differ, with If-Match when ETags are offered; PUT of the
  whole resource when PATCH is not supported or ``quirks.patch`` is false.
  Delete of a missing account is done; so are "already a member"/"not a member".
- Failures: refused connections, timeouts, DNS failures, 412 (changed between our
  read and write), 429 (with Retry-After) and 502/503/504 are retryable; anything
  else is not. Messages carry the request, HTTP status, ``scimType`` and ``detail``.

``ScimConnector`` (``_connector.py``) is a small class that delegates each ``Connector``
method to a collaborator; each collaborator is one class in its own module, given what
it needs in its constructor (no inheritance between them):

- ``_settings``: ``ScimSettings``, the connection keys and the attribute mapping,
  checked once, then read-only; a User as a ``SnapshotAccount``
- ``_session``: ``ScimSession``, HTTP clients, authentication, ``call``, ``ScimError``
- ``_probe``: ``ServiceProbe``, the ``Service``: what the target offers
- ``_paging``: ``Paging``, one page and every page of a resource type (fail closed)
- ``_resources``: ``Resources``, fetching and changing resources; Groups by entitlement
- ``_reading``: ``Reader``, check, read, get_account, get_accounts
- ``_accounts``: ``AccountOrders``, create, update, enable/disable and delete orders
- ``_grants``: ``Grants``, grant and revoke orders
- ``_groups``: ``ManagedGroups``, managed groups (``managed: true``): create, rename,
  delete, by externalId
- ``_values``: schemas, attribute paths and values (pure)
- ``_models``: scim2-models without attribute-docstring extraction (import cost)

The wire details: ``_transport`` (the httpx engine under scim2-client, auth, the write
limiter, error classification) and ``_quirks`` (per-target quirks, lenient reading).
"""

from __future__ import annotations

# first: scim2-models' configuration, before scim2-client builds its generic models
from accesshive.connectors.scim import _models  # noqa: F401
from accesshive.connectors.scim._connector import ScimConnector
from accesshive.connectors.scim._probe import Service
from accesshive.connectors.scim._session import ScimError
from accesshive.connectors.scim._settings import CONNECTION_KEYS

__all__ = ["CONNECTION_KEYS", "ScimConnector", "ScimError", "Service"]
