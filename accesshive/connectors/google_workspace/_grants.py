"""Grant orders of the ``google_workspace`` connector: groups, licences, super admin.

Entitlements are group emails (grant = members.insert, "Member already exists" is
done; revoke = members.delete, 404 is done), licences named in ``licenses`` (a grant
reassigns the user's other declared SKU of the same product: Google allows one per
product) and the ``super_admin`` entitlement (users.makeAdmin).
"""

from __future__ import annotations

from accesshive.connectors.google_workspace._client import GoogleApiError
from accesshive.connectors.google_workspace._parts import Collaborator


class GrantOrders(Collaborator):
    """grant and revoke."""

    def _email_of(self, external_id: str) -> str:
        known = self.reader.known_email(external_id)
        if known is not None:
            return known
        user = self.reader.get_user(external_id, "id,primaryEmail")
        if user is None:
            raise GoogleApiError(
                self.settings.source_id, f"users.get {external_id}: no such user", status=404
            )
        return str(user["primaryEmail"])

    def grant(self, external_id: str, entitlement: str) -> None:
        if entitlement == self.settings.super_admin:
            self._make_admin(external_id, True)
        elif entitlement in self.settings.licenses:
            self._assign_license(external_id, entitlement)
        else:
            self._add_member(external_id, self.group_email(entitlement))

    def revoke(self, external_id: str, entitlement: str) -> None:
        try:
            if entitlement == self.settings.super_admin:
                self._make_admin(external_id, False)
            elif entitlement in self.settings.licenses:
                product, sku = self.settings.licenses[entitlement]
                email = self._email_of(external_id)
                self.session.client.call(
                    "DELETE",
                    self.session.lic(product, sku, "user", email),
                    f"licenseAssignments.delete {product}/{sku} {email}",
                )
            else:
                group = self.group_email(entitlement)
                self.session.client.call(
                    "DELETE",
                    self.session.dir("groups", group, "members", external_id),
                    f"members.delete {group} {external_id}",
                )
        except GoogleApiError as exc:
            if exc.status != 404:  # not a member / no such user / no licence: done
                raise

    def group_email(self, entitlement: str) -> str:
        if "@" not in entitlement:
            raise self.settings.error(
                f"entitlement '{entitlement}' is not a group email; name licences under "
                "connection.licenses and the super admin role as connection.super_admin"
            )
        return entitlement

    def _add_member(self, external_id: str, group: str) -> None:
        email = self._email_of(external_id)
        try:
            self.consistency.patiently(
                external_id,
                lambda: self.session.client.call(
                    "POST",
                    self.session.dir("groups", group, "members"),
                    f"members.insert {group} {email}",
                    params={"fields": "id"},
                    body={"email": email, "role": self.settings.member_role},
                ),
                about_user=lambda message: "groupKey" not in message,
            )
        except GoogleApiError as exc:
            if exc.status == 409 and (
                exc.reason == "duplicate" or "already exists" in exc.message.lower()
            ):
                return  # Member already exists: done
            raise

    def _make_admin(self, external_id: str, status: bool) -> None:
        self.consistency.patiently(
            external_id,
            lambda: self.session.client.call(
                "POST",
                self.session.dir("users", external_id, "makeAdmin"),
                f"users.makeAdmin {external_id} status={str(status).lower()}",
                body={"status": status},
            ),
        )

    def _assign_license(self, external_id: str, entitlement: str) -> None:
        product, sku = self.settings.licenses[entitlement]
        email = self._email_of(external_id)
        what = f"licenseAssignments.insert {product}/{sku} {email}"
        try:
            self.consistency.patiently(
                external_id,
                lambda: self.session.client.call(
                    "POST", self.session.lic(product, sku, "user"), what, body={"userId": email}
                ),
            )
            return
        except GoogleApiError as exc:
            if exc.retryable or exc.status in (401, 404):
                raise
            refused = exc
        # the user may hold this SKU already (done), or another SKU of the product:
        # Google allows one per product, so reassign it
        if self.reader.has_license(product, sku, email):
            return
        for other_product, other_sku in sorted(set(self.settings.licenses.values())):
            if other_product != product or other_sku == sku:
                continue
            if self.reader.has_license(product, other_sku, email):
                self.session.client.call(
                    "PATCH",
                    self.session.lic(product, other_sku, "user", email),
                    f"licenseAssignments.patch {product}/{other_sku} -> {sku} {email}",
                    body={"skuId": sku},
                )
                return
        raise refused
