"""A bug keeps its traceback, but never a secret accesshive resolved in the run: the
``accesshive`` program prints uncaught exceptions through a hook that redacts them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_an_uncaught_bug_prints_its_traceback_with_the_secret_redacted() -> None:
    program = textwrap.dedent(
        """
        import click
        from accesshive.cli import main
        from accesshive.redaction import register

        @main.command("boom")
        def boom() -> None:
            register("s3cr3t-t0ken-value", "${env:APP_TOKEN}")
            raise RuntimeError("the target said: bad token s3cr3t-t0ken-value")

        main.commands["boom"] = boom
        main(["boom"])
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1
    assert "Traceback (most recent call last)" in run.stderr
    assert "RuntimeError: the target said: bad token [redacted: ${env:APP_TOKEN}]" in run.stderr
    assert "s3cr3t-t0ken-value" not in run.stderr
