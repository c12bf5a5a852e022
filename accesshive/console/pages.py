"""The console's routes: one function per page, each reading ``views`` and rendering
one template; and the few that act (sign in, sign out, Retry), each checked here.

Pages work without JavaScript: filters are a GET form, Retry and sign-in are POST forms.
The one script (``/live.js``) only reloads a page when the store records something new.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from accesshive.config.structure import close_matches, naming
from accesshive.console import views
from accesshive.console.app import TEMPLATES, Console
from accesshive.console.cache import Overviews
from accesshive.console.operators import Operator, operator_for, operator_of_session, used
from accesshive.console.security import COOKIE, CSRF_FIELD, Sessions
from accesshive.errors import AccessHiveError
from accesshive.operations import retry_identity
from accesshive.plan.states import DONE, FAILED, SENT
from accesshive.render.describe import summary_line

LIVE_JS = """\
// Live updates: reload the page when the store records something new (a run, an order's
// state, a sync). Everything else works with JavaScript off.
// A form being sent (Retry runs for seconds, and its own run moves the marker) is never
// cut short by a reload: once one is submitted, the page stops polling.
(function () {
  var seen = document.body.getAttribute("data-marker"), leaving = false;
  document.addEventListener("submit", function () { leaving = true; });
  function poll() {
    if (leaving) { return; }
    fetch("/changes", {cache: "no-store"}).then(function (r) { return r.json(); })
      .then(function (d) {
        var typing = document.activeElement && document.activeElement.tagName === "INPUT";
        if (d.marker !== seen && !typing && !leaving) { location.reload(); }
      }).catch(function () {}).then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
  document.body.setAttribute("data-live", "on");
})();
"""


def _console(request: Request) -> Console:
    console = request.app.state.console
    assert isinstance(console, Console)
    return console


def _overview(request: Request) -> views.Overview:
    """The overview of the repository and store as they are now (``cache``)."""
    console = _console(request)
    overviews = request.app.state.overviews
    assert isinstance(overviews, Overviews)
    return overviews.get(console.root, console.store, console.day())


def _sessions(request: Request) -> Sessions:
    sessions = request.app.state.sessions
    assert isinstance(sessions, Sessions)
    return sessions


def _operator(request: Request) -> Operator | None:
    """The signed-in operator: a valid session whose token is still active."""
    console = _console(request)
    session = _sessions(request).read(request.cookies.get(COOKIE, ""))
    if console.read_only or session is None or not console.store.exists(console.root):
        return None  # (opening a store that does not exist would create it)
    with console.store.open(console.root) as opened:
        return operator_of_session(opened, session.token_id)


def _render(request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    console = _console(request)
    operator = _operator(request)
    cookie = request.cookies.get(COOKIE, "")
    html = TEMPLATES.get_template(template).render(
        request_path=request.url.path,
        operator=operator,
        csrf=_sessions(request).csrf(cookie) if operator else "",
        read_only=console.read_only,
        marker=views.marker(console.root, console.store),
        summary=summary_line,
        DONE=DONE,
        FAILED=FAILED,
        SENT=SENT,
        quote=quote,
        where=console.where(),
        **values,
    )
    return HTMLResponse(html, status_code=status_code)


def identities(request: Request) -> Response:
    view = _overview(request)
    query = request.query_params.get("q", "").strip()
    chosen = {name: request.query_params.get(name, "") for name in views.FILTERS}
    shown = [r for r in view.rows if r.matches(query, chosen)]
    return _render(request, "identities.html.j2", view=view, rows=shown, query=query, chosen=chosen)


def identity(request: Request) -> Response:
    iid = request.path_params["identity"]
    view = _overview(request)
    status = view.statuses.get(iid)
    if status is None:
        # the CLI's own words for a name it does not know, each suggestion a link
        return _render(
            request,
            "message.html.j2",
            404,
            title="No such identity",
            text=naming("identity", iid, view.statuses),
            links=[(f"/identities/{quote(n)}", n) for n in close_matches(iid, view.statuses)],
        )
    retried = request.query_params.get("retried", "")
    return _render(
        request,
        "identity.html.j2",
        view=view,
        status=status,
        row=next(r for r in view.rows if r.id == iid),
        health=view.health.get(iid),
        accounts=view.accounts(iid),
        retried=retried if retried in RETRY_OUTCOMES else "",
        # what failed, as the store records it (never text from the address bar)
        retry_failures=[
            f"{summary_line(s.order)}: {s.message or s.state}"
            for s in status.steps
            if s.state in FAILED and s.state != "declined"
        ],
    )


RETRY_OUTCOMES = ("complete", "incomplete", "failed", "nothing to retry")
"""What a retry's redirect may report (an apply's status, or nothing to do): anything else
in the address is ignored."""


def runs(request: Request) -> Response:
    console = _console(request)
    return _render(request, "runs.html.j2", runs=views.runs(console.root, console.store))


def reviews(request: Request) -> Response:
    view = _overview(request)
    return _render(request, "reviews.html.j2", reviews=views.reviews(view))


def drift(request: Request) -> Response:
    view = _overview(request)
    return _render(request, "drift.html.j2", view=view, report=view.report)


def audit(request: Request) -> Response:
    console = _console(request)
    before = request.query_params.get("before", "")
    if before and not before.isdigit():
        return _render(
            request,
            "message.html.j2",
            400,
            title="Bad page",
            text=f"?before= takes an audit sequence number, not '{before}'",
        )
    page = views.audit(console.root, console.store, int(before) if before else None)
    return _render(request, "audit.html.j2", audit=page)


def changes(request: Request) -> Response:
    console = _console(request)
    return JSONResponse({"marker": views.marker(console.root, console.store)})


def live_js(request: Request) -> Response:
    return Response(LIVE_JS, media_type="text/javascript")


def _refused(request: Request, text: str) -> Response:
    return _render(request, "message.html.j2", 403, title="Refused", text=text)


async def retry(request: Request) -> Response:
    """Retry an identity's failed or stuck steps: ``accesshive retry IDENTITY``, run by the
    signed-in operator; refused (403, nothing run) without one or without the form's
    CSRF token."""
    console = _console(request)
    iid = request.path_params["identity"]
    form = await request.form()
    operator = await run_in_threadpool(_operator, request)
    if operator is None:
        why = (
            "this console is read-only (started with --read-only)"
            if console.read_only
            else "Retry needs a signed-in operator: sign in with a token from "
            f"`accesshive console token create --operator NAME{console.where()}`"
        )
        return _refused(request, why)
    if not _sessions(request).csrf_ok(
        request.cookies.get(COOKIE, ""), str(form.get(CSRF_FIELD, ""))
    ):
        return _refused(request, "the form's CSRF token is missing or wrong: reload the page")
    order = str(form.get("order", ""))

    def run() -> str:
        with console.store.open(console.root) as opened:
            opened.audit(
                operator.actor,
                "console_retry",
                iid,
                {"operator": operator.name, "token": operator.token_id, "order": order},
            )
            used(opened, operator)
        done = retry_identity(console.root, iid, console.store, console.day(), operator.actor)
        return "nothing to retry" if done is None else done[1].status

    try:
        outcome = await run_in_threadpool(run)
    except AccessHiveError as exc:
        return _render(request, "message.html.j2", 409, title="Retry failed", text=str(exc))
    target = f"/identities/{quote(iid)}?" + urlencode({"retried": outcome})
    return RedirectResponse(target, status_code=303)


def signin_form(request: Request) -> Response:
    return _render(request, "signin.html.j2", problem="")


async def signin(request: Request) -> Response:
    console = _console(request)
    form = await request.form()
    token = str(form.get("token", "")).strip()
    if console.read_only:
        return _refused(request, "this console is read-only (started with --read-only)")

    def check() -> Operator | None:
        if not console.store.exists(console.root):
            return None
        with console.store.open(console.root) as opened:
            found = operator_for(opened, token)
            if found is not None:
                opened.audit(found.actor, "console_signin", None, {"operator": found.name})
                used(opened, found)
            return found

    operator = await run_in_threadpool(check)
    if operator is None:
        return _render(
            request,
            "signin.html.j2",
            401,
            problem="not an active operator token (unknown, expired or revoked)",
        )
    sessions = _sessions(request)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        sessions.issue(operator.token_id),
        max_age=sessions.max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


async def signout(request: Request) -> Response:
    """End the session (a copy of its cookie is refused too) and clear the cookie."""
    _sessions(request).end(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/"
    )
    return response


async def favicon(_: Request) -> Response:
    """No icon, said without an error: a browser asks for /favicon.ico on every console
    page, and a 404 shows as an error in its developer console."""
    return Response(status_code=204, headers={"Cache-Control": "max-age=86400"})


def routes() -> list[Route]:
    return [
        Route("/", identities),
        Route("/identities/{identity:path}", identity),
        Route("/retry/{identity:path}", retry, methods=["POST"]),
        Route("/runs", runs),
        Route("/reviews", reviews),
        Route("/drift", drift),
        Route("/audit", audit),
        Route("/changes", changes),
        Route("/live.js", live_js),
        Route("/favicon.ico", favicon),
        Route("/signin", signin_form, methods=["GET"]),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
    ]
