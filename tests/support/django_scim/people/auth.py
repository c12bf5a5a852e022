"""Bearer-token login for django-scim2, which leaves authentication to the app: its
``SCIMAuthCheckMiddleware`` answers 401 unless ``request.user`` is authenticated."""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse


class ProvisioningClient(AnonymousUser):
    """The SCIM client: authenticated, but no row in the user table (it would be
    listed at /Users like any provisioned user)."""

    @property
    def is_anonymous(self) -> bool:  # type: ignore[override]
        return False

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True


class BearerTokenMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.token = os.environ["DJANGO_SCIM_TOKEN"].encode()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get("Authorization", "")
        scheme, _, token = sent.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), self.token):
            request.user = ProvisioningClient()
        else:
            request.user = AnonymousUser()
        return self.get_response(request)


def base_location(request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> str:
    """``meta.location`` on the address the client used (the port is chosen at start)."""
    if request is None:
        return "http://127.0.0.1"
    return f"http://{request.get_host()}"
