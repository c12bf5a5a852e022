"""``accesshive console`` in a real browser: Debian's Chromium driven by Playwright, on the
quickstart, whose wiki is a real SQLite database made to refuse a login (a real target
failure), then fixed.

Screenshots of the main pages go to $ACCESSHIVE_CONSOLE_SHOTS (default: the test's tmp
directory), for whoever reviews the change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from playwright.sync_api import Browser, Page, expect, sync_playwright

from accesshive.cli import main
from tests.conftest import EXAMPLES
from tests.support.console import chromium, console
from tests.support.wiki import refuse_logins

TODAY = "2026-11-29"
WAIT = 60_000
"""Milliseconds Playwright waits for what the page must come to show (a safety net on a
loaded machine; it returns as soon as the page shows it)."""


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _statuses(repo: Path) -> dict[str, str]:
    result = _run("status", str(repo), "--format", "json", "--today", TODAY)
    assert result.exit_code == 0, result.output
    return {s["identity"]: s["status"] for s in json.loads(result.stdout)}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The quickstart synced and applied while the wiki refuses Ada's login."""
    dest = tmp_path / "quickstart"
    shutil.copytree(EXAMPLES / "quickstart", dest, ignore=shutil.ignore_patterns(".accesshive"))
    assert _run("sync", str(dest)).exit_code == 0
    refuse_logins(dest, "ada.lovelace")
    applied = _run("apply", str(dest), "--auto-approve", "--today", TODAY)
    assert applied.exit_code == 1, applied.output
    assert _statuses(dest)["ada.lovelace"] == "error"
    return dest


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("ACCESSHIVE_CONSOLE_SHOTS") or tmp_path / "shots")
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def _token(repo: Path, operator: str = "Olive Operator") -> str:
    made = _run("console", "token", "create", "--operator", operator, "-C", str(repo))
    assert made.exit_code == 0, made.output
    return made.stdout.strip()


def _sign_in(page: Page, url: str, token: str) -> None:
    page.goto(f"{url}/signin")
    page.fill("input[name=token]", token)
    page.click("button[type=submit] >> text=Sign in")


def test_identity_list_and_failed_step_without_javascript(
    repo: Path, browser: Browser, shots: Path
) -> None:
    with console(repo, "--today", TODAY) as url:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        page.goto(url + "/")
        rows = page.locator("#identities tbody tr")
        expect(rows).to_have_count(5)
        expect(page.locator("[data-count=error] b")).to_have_text("1")
        expect(page.locator("tr[data-identity='ada.lovelace'] [data-status]")).to_have_text("error")
        page.screenshot(path=str(shots / "identities.png"), full_page=True)

        # filters are a plain GET form: they work with JavaScript off
        page.select_option("select[name=status]", "error")
        page.click("button >> text=Filter")
        expect(rows).to_have_count(1)
        page.fill("input[name=q]", "grace")
        page.select_option("select[name=status]", "")
        page.click("button >> text=Filter")
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-identity", "grace.hopper")

        page.goto(url + "/")
        page.click("a >> text=ada.lovelace")
        expect(page.locator("#status")).to_have_text("Error")
        failed = page.locator("#steps tbody tr").filter(
            has=page.locator("td[data-state]", has_text=re.compile(r"^errored$"))
        )
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("login is reserved")
        expect(failed).to_contain_text("wiki")
        order_id = failed.get_attribute("data-order")
        assert order_id and len(order_id) == 12
        expect(failed.locator("code")).to_have_text(order_id)
        # the steps in dependency order: the account before its grants
        steps = page.locator("#steps tbody tr td:first-child").all_inner_texts()
        assert steps.index(next(s for s in steps if "create" in s)) < steps.index(
            next(s for s in steps if "grant" in s)
        )
        expect(page.locator("#accounts")).to_contain_text("wiki")
        # the badge system keeps no link: Ada's badge was found by her email (correlation)
        badge = page.locator("#accounts tr[data-source=badges]")
        expect(badge.locator("[data-found]")).to_contain_text("B-100")
        expect(badge.locator("[data-matched]")).to_have_text("correlation on email")
        expect(badge).to_contain_text("office-hq")
        # not signed in: no Retry button, a way to sign in instead
        expect(page.locator("button.retry")).to_have_count(0)
        expect(failed).to_contain_text("sign in to retry")
        page.screenshot(path=str(shots / "identity-error.png"), full_page=True)

        for path, name, shows in (
            ("/runs", "runs", "Run 1"),
            ("/reviews", "reviews", "awaiting_approval"),
            ("/drift", "drift", "Orphaned accounts"),
            ("/audit", "audit", "chain intact"),
        ):
            page.goto(url + path)
            expect(page.locator("main")).to_contain_text(shows)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        context.close()


def test_retry_is_refused_without_an_operator_token(repo: Path, browser: Browser) -> None:
    refuse_logins(repo)  # the wiki would take Ada now: only the refusal keeps her failed
    with console(repo, "--today", TODAY) as url:
        context = browser.new_context()
        page = context.new_page()
        page.goto(url + "/identities/ada.lovelace")
        expect(page.locator("button.retry")).to_have_count(0)

        # a request made without signing in (another page, curl...) is refused
        forged = context.request.post(
            url + "/retry/ada.lovelace", form={"order": "x", "csrf": "guess"}
        )
        assert forged.status == 403
        assert "accesshive console token create" in forged.text()

        # a revoked token signs nobody in
        token = _token(repo)
        tokens = json.loads(_run("console", "token", "list", "-C", str(repo), "--format", "json")
                            .stdout)  # fmt: skip
        assert [t["operator"] for t in tokens] == ["Olive Operator"]
        assert token not in json.dumps(tokens)
        revoked = _run("console", "token", "revoke", str(tokens[0]["id"]), "-C", str(repo))
        assert revoked.exit_code == 0, revoked.output
        _sign_in(page, url, token)
        expect(page.locator("#problem")).to_contain_text("not an active operator token")

        # signed in with a good token, but a form without its CSRF token: refused
        _sign_in(page, url, _token(repo))
        expect(page.locator("#operator")).to_have_text("Olive Operator")
        no_csrf = context.request.post(url + "/retry/ada.lovelace", form={"order": "x"})
        assert no_csrf.status == 403
        assert "CSRF" in no_csrf.text()
        context.close()
    assert _statuses(repo)["ada.lovelace"] == "error"  # nothing was retried


def test_a_retry_that_fails_again_shows_as_a_failure_with_the_targets_message(
    repo: Path, browser: Browser, shots: Path
) -> None:
    with console(repo, "--today", TODAY) as url:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        _sign_in(page, url, _token(repo, "Olive Operator"))
        page.goto(url + "/identities/ada.lovelace")
        page.locator("button.retry").first.click()  # the wiki still refuses her login
        box = page.locator("#retried")
        expect(box).to_have_class(re.compile(r"\bproblem\b"), timeout=WAIT)
        expect(box).to_contain_text("Retry by Olive Operator failed")
        expect(box).to_contain_text("login is reserved")
        expect(page.locator("#status")).to_have_text("Error")
        page.screenshot(path=str(shots / "identity-retry-failed.png"), full_page=True)

        # an outcome typed into the address is not shown; the outcome list is fixed
        page.goto(url + "/identities/ada.lovelace?retried=all+good")
        expect(page.locator("#retried")).to_have_count(0)
        context.close()


def test_retry_after_the_target_recovers(repo: Path, browser: Browser, shots: Path) -> None:
    """Signing in, Retry and signing out are forms: all of it works with JavaScript off."""
    with console(repo, "--today", TODAY) as url:
        context = browser.new_context(java_script_enabled=False)
        page = context.new_page()
        _sign_in(page, url, _token(repo, "Olive Operator"))
        page.goto(url + "/identities/ada.lovelace")
        expect(page.locator("#status")).to_have_text("Error")

        expect(page.locator("button.retry")).to_have_count(3)  # the failure and what it blocked
        page.screenshot(path=str(shots / "identity-signed-in.png"), full_page=True)

        refuse_logins(repo)  # the wiki is fixed
        page.locator("button.retry").first.click()
        expect(page.locator("#status")).to_have_text("Provisioned", timeout=WAIT)
        expect(page.locator("#retried")).to_contain_text("Olive Operator")
        expect(page.locator("#retried")).to_have_class(re.compile(r"\bnotice\b"))
        expect(page.locator("#steps")).to_have_count(0)
        page.screenshot(path=str(shots / "identity-retried.png"), full_page=True)

        page.goto(url + "/audit")
        retried = page.locator("#audit tr", has_text="console_retry")
        expect(retried).to_contain_text("Olive Operator")
        expect(retried).to_contain_text("ada.lovelace")

        # the browser never holds the token: a signed session, gone at sign-out
        cookies = context.cookies()
        assert [c["name"] for c in cookies] == ["accesshive_session"]
        assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Strict"
        page.click("button >> text=Sign out")
        expect(page.locator("header")).to_contain_text("Sign in")
        assert context.cookies() == []
        context.close()
    assert _statuses(repo)["ada.lovelace"] == "provisioned"


def test_pages_follow_an_apply_running_in_another_process(repo: Path, browser: Browser) -> None:
    """Live updates: open pages show what an apply run by another process records, without
    a reload by hand."""
    with console(repo, "--today", TODAY) as url:
        page = browser.new_page()
        page.goto(url + "/identities/ada.lovelace")
        expect(page.locator("body")).to_have_attribute("data-live", "on")
        expect(page.locator("#status")).to_have_text("Error")
        runs = browser.new_page()
        runs.goto(url + "/runs")
        expect(runs.locator("section.run")).to_have_count(1)
        refuse_logins(repo)
        day = ("--today", TODAY)
        applied = subprocess.run(
            [sys.executable, "-m", "accesshive", "apply", str(repo), "--auto-approve", *day],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert applied.returncode in (0, 6), applied.stderr
        expect(page.locator("#status")).to_have_text("Provisioned", timeout=WAIT)
        expect(runs.locator("section.run")).to_have_count(2, timeout=WAIT)
        expect(runs.locator("#run-2")).to_contain_text("verified")
        page.close()
        runs.close()
