"""examples/deploy: the two scale-out deployments the README shows (a GitHub Actions
matrix of workers beside the apply job; a Kubernetes Deployment of workers and a Job
that applies) are valid YAML, and every accesshive command in them parses with the
CLI as it is today (its options exist), all pointed at one store."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
from ruamel.yaml import YAML

from accesshive.cli import main
from tests.conftest import EXAMPLES

DEPLOY = EXAMPLES / "deploy"


def _documents(path: Path) -> list[Any]:
    return [d for d in YAML(typ="safe").load_all(path.read_text()) if d is not None]


def _parses(argv: list[str], where: Path) -> click.Context:
    """The command line as accesshive's CLI reads it (options checked, nothing run), with
    its repository and plan paths pointed at ``where``, which has them."""
    assert argv[0] == "accesshive", argv
    assert isinstance(main, click.Group)
    (where / "plan.json").touch()
    paths = {"/config": where, ".": where}
    paths |= {p: where / "plan.json" for p in ("/config/plan.json", "out/plan.json")}
    args = [str(paths.get(a, a)) for a in argv[2:]]
    command: click.Command = main
    while isinstance(command, click.Group):  # accesshive approvals from-github ...
        command = command.commands[argv[1]]
        argv = argv[1:]
        if isinstance(command, click.Group):
            args = args[1:]
    return command.make_context(argv[0], args)


def test_every_deploy_example_is_valid_yaml() -> None:
    files = sorted(DEPLOY.rglob("*.y*ml"))
    assert {f.relative_to(DEPLOY).parts[0] for f in files} == {"github-actions", "kubernetes"}
    for path in files:
        assert _documents(path), path


def test_kubernetes_workers_and_the_apply_job_share_one_store(tmp_path: Path) -> None:
    (deployment,) = _documents(DEPLOY / "kubernetes" / "workers.yaml")
    (job,) = _documents(DEPLOY / "kubernetes" / "apply-job.yaml")
    assert (deployment["kind"], job["kind"]) == ("Deployment", "Job")
    worker = deployment["spec"]["template"]["spec"]["containers"][0]
    applier = job["spec"]["template"]["spec"]["containers"][0]
    assert worker["command"][:2] == ["accesshive", "worker"]
    assert applier["command"][:2] == ["accesshive", "apply"]
    assert _parses(applier["command"], tmp_path).params["workers"] is True
    _parses(worker["command"], tmp_path)
    assert worker["image"] == applier["image"]  # one commit for both

    def store(container: dict[str, Any]) -> Any:
        return next(e["valueFrom"] for e in container["env"] if e["name"] == "ACCESSHIVE_STORE")

    assert store(worker) == store(applier)
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert deployment["spec"]["replicas"] > 1


def test_github_actions_runs_a_matrix_of_workers_beside_the_apply_job(tmp_path: Path) -> None:
    (workflow,) = _documents(DEPLOY / "github-actions" / "accesshive-apply-workers.yml")
    jobs = workflow["jobs"]
    assert len(jobs["workers"]["strategy"]["matrix"]["worker"]) > 1
    assert "needs" not in jobs["apply"]  # the workers run while apply waits for them
    assert "ACCESSHIVE_STORE" in workflow["env"]  # one store for every job

    def commands(job: dict[str, Any]) -> list[list[str]]:
        found = []
        for step in job["steps"]:
            text = re.sub(r"\$\{\{[^}]*\}\}", "1", str(step.get("run", "")))  # Actions expressions
            for line in text.replace("\\\n", " ").splitlines():
                words = shlex.split(line, comments=True)
                while words and words[0] != "accesshive":
                    words = words[1:]
                if len(words) > 1:
                    cut = next((i for i, w in enumerate(words) if w in ("||", "&&", ";")), None)
                    found.append(words[:cut])
        return found

    (worker,) = [c for c in commands(jobs["workers"]) if c[1] == "worker"]
    _parses(worker, tmp_path)
    applies = [c for c in commands(jobs["apply"]) if c[1] == "apply"]
    assert len(applies) == 1 and _parses(applies[0], tmp_path).params["workers"] is True
    for other in commands(jobs["apply"]):
        _parses(other, tmp_path)  # approvals from-github
