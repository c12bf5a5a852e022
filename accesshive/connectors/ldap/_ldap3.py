"""ldap3, imported once and quietly: every module of the ldap connector takes it from here.

pyasn1 0.6.1+ deprecates ``tagMap``/``typeMap``, which ldap3 2.9.1 imports at import
time; with ``filterwarnings = error`` (and for users) that warning is noise, so the one
import that triggers it happens here, inside ``catch_warnings``, before any other
module can import ldap3 unguarded.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3  # type: ignore[import-untyped]
    from ldap3.core import exceptions as lexc  # type: ignore[import-untyped]
    from ldap3.protocol.rfc4527 import post_read_control  # type: ignore[import-untyped]
    from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]

__all__ = ["escape_filter_chars", "ldap3", "lexc", "post_read_control"]
