"""The user and group models django-scim2 needs: its SCIM mixins (``scim_id``,
``scim_external_id``, ``scim_username``, ``scim_display_name``) on Django's own user,
and a group whose members are ``user_set``, as the library's default adapters read them.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django_scim.models import AbstractSCIMGroupMixin, AbstractSCIMUserMixin


class Group(AbstractSCIMGroupMixin):
    name = models.CharField(max_length=150, unique=True)


class User(AbstractSCIMUserMixin, AbstractUser):
    memberships = models.ManyToManyField(Group, blank=True)

    @property
    def scim_groups(self) -> Any:  # the mixin's raises NotImplementedError
        return self.memberships
