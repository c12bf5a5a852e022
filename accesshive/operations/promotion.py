"""Promotion between environments: ``promote`` records that a config digest applied
cleanly in one environment may be applied in the next, and ``require_promotion`` is the
check apply makes in an environment that only takes promoted configs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accesshive.apply.executor import DONE
from accesshive.config import Config
from accesshive.errors import PromotionError
from accesshive.operations._common import StoreRef
from accesshive.pipeline import load_config
from accesshive.policies_in_force import PoliciesInForce
from accesshive.store import Store


@dataclass(frozen=True)
class Promotion:
    config_digest: str
    source: str
    target: str
    plan_digest: str


def promote(
    root: Path, source: str, target: str, actor: str, store_url: str | None = None
) -> Promotion:
    """Allow ``target`` to apply the config digest now in the repository, if ``source``
    applied exactly that digest with every order verified."""
    config = load_config(root, target)
    digest = config.digest
    with StoreRef(source).open(root) as sandbox:
        runs = sandbox.applied_runs(digest)
        if not runs:
            latest = sandbox.latest_applied_config()
            detail = f"it last applied config {latest[:12]}" if latest else "it has applied nothing"
            raise PromotionError(
                f"config {digest[:12]} was not applied in '{source}' ({detail}); apply this "
                f"exact config there first"
            )
        last = runs[-1]
        if last["status"] != "complete":
            states = sandbox.order_states(str(last["plan_digest"]))
            waiting = sorted(oid for oid, st in states.items() if st.state not in DONE)
            raise PromotionError(
                f"config {digest[:12]} was applied in '{source}' but not cleanly (run "
                f"{last['id']} {last['status']}; orders not verified: {', '.join(waiting[:10])}"
                f"{'...' if len(waiting) > 10 else ''}); see what waits with `accesshive "
                f"status --env {source}`, see it through (approvals, manual tasks: "
                f"`accesshive tasks list --env {source}`), apply again there (`accesshive "
                f"apply --auto-approve --env {source}`), then promote"
            )
        sandbox.audit(actor, "promotion_out", digest, {"to": target, "plan": last["plan_digest"]})
    with StoreRef(target, store_url).open(root) as production:
        production.record_promotion(digest, source, str(last["plan_digest"]), actor)
        production.audit(actor, "promotion", digest, {"from": source, "plan": last["plan_digest"]})
    return Promotion(digest, source, target, str(last["plan_digest"]))


def require_promotion(config: Config, store: Store) -> None:
    """Refuse to apply in an environment that takes only promoted configs, unless this
    config digest was promoted from its origin environment.

    The requirement is the repository's and the one in force (kept with the policies in
    force by the environment's last complete apply): a change that deletes
    ``require_promotion_from``, or points it at another environment, is still a change
    to an environment that takes only configs promoted from the one in force, so it
    must be promoted from there to be applied."""
    env = config.project.environments.get(config.environment)
    origins = [env.require_promotion_from] if env and env.require_promotion_from else []
    if store.borrowed_policies_from() is None and store.nearby_policies_in_force() is None:
        stored = store.policies_in_force()
        kept = PoliciesInForce.from_text(stored).promotion_from if stored else None
        if kept and kept not in origins:
            origins.insert(0, kept)  # the one in force is named first
    for origin in origins:
        if not store.promoted(config.digest, origin):
            raise PromotionError(
                f"environment '{config.environment}' applies only configs promoted from "
                f"'{origin}'; config {config.digest[:12]} was not: run `accesshive promote "
                f"--from {origin} --to {config.environment}` once '{origin}' applied it cleanly"
            )
