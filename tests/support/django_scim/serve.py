"""Start the test SCIM service provider: migrate a fresh SQLite database, then serve
django-scim2 with waitress on 127.0.0.1 and a free port, printed as ``port N``.

Usage (from this directory): python serve.py TOKEN DATABASE, or
python serve.py --migrate-only - DATABASE to prepare a database and exit.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    migrate_only = sys.argv[1] == "--migrate-only"
    token, database = sys.argv[-2], sys.argv[-1]
    os.environ["DJANGO_SCIM_TOKEN"] = token
    os.environ["DJANGO_SCIM_DB"] = database
    os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from waitress.server import create_server

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if migrate_only:
        return
    server = create_server(get_wsgi_application(), host="127.0.0.1", port=0, threads=4)
    print(f"port {server.effective_port}", flush=True)  # type: ignore[union-attr]
    server.run()


if __name__ == "__main__":
    main()
