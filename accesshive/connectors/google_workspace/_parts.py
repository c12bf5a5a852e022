"""The constructor the connector's user orders and grant orders share."""

from __future__ import annotations

from accesshive.connectors.google_workspace._consistency import Consistency
from accesshive.connectors.google_workspace._reading import Reader
from accesshive.connectors.google_workspace._session import GwsSession
from accesshive.connectors.google_workspace._settings import GwsSettings


class Collaborator:
    """What the user orders and the grant orders each work with: the checked settings,
    the API session, the read-after-write consistency window and the reader. One
    constructor for both, so that where ``self.x`` comes from is said once (as
    ``connectors/ldap/_parts.py`` does for the LDAP connector's parts)."""

    def __init__(
        self,
        settings: GwsSettings,
        session: GwsSession,
        consistency: Consistency,
        reader: Reader,
    ) -> None:
        self.settings = settings
        self.session = session
        self.consistency = consistency
        self.reader = reader
