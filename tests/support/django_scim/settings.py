"""Django settings of the test SCIM service provider: django-scim2 over a SQLite file.

Only what django-scim2's installation guide asks for: its app, the ``scim`` URL
namespace, ``SCIM_SERVICE_PROVIDER`` (its mandatory ``NETLOC`` and
``AUTHENTICATION_SCHEMES``), a user model with its SCIM mixins, and something that
logs the client in (``people.auth``: the library leaves authentication to the app).
"""

from __future__ import annotations

import os

SECRET_KEY = "accesshive-tests-only"  # signs nothing: no sessions, no CSRF cookies
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django_scim",
    "people",
]
MIDDLEWARE = ["people.auth.BearerTokenMiddleware"]
AUTH_USER_MODEL = "people.User"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SCIM_DB", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# A server-side password hasher that costs nothing: the tests create many users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django_scim": {"handlers": ["stderr"], "level": "WARNING"}},
}
SCIM_SERVICE_PROVIDER = {
    "NETLOC": "127.0.0.1",  # mandatory; locations come from the request (people.auth)
    "SCHEME": "http",
    "BASE_LOCATION_GETTER": "people.auth.base_location",
    "USER_MODEL_GETTER": "django.contrib.auth.get_user_model",
    "GROUP_MODEL": "people.models.Group",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token",
        }
    ],
}
