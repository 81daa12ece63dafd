"""The Pages workflow: runs after the daily workflow, only calls `alerting report`, deploys with
least privilege (actionlint over every workflow is in test_workflows.py)."""

from pathlib import Path

import yaml

from alerting.cli import build_parser

WORKFLOWS = Path(__file__).resolve().parent.parent / ".github" / "workflows"


def _load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())


def test_runs_after_the_daily_workflow_and_on_demand():
    pages, daily = _load("pages"), _load("daily")
    on = pages[True]  # YAML 1.1 reads `on` as a boolean
    assert on["workflow_run"]["workflows"] == [daily["name"]]
    assert on["workflow_run"]["types"] == ["completed"]
    assert "workflow_dispatch" in on
    assert pages["concurrency"]["group"] and pages["concurrency"]["cancel-in-progress"] is False


def test_least_privilege_per_job():
    jobs = _load("pages")["jobs"]
    assert _load("pages")["permissions"] == {}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy"]["needs"] == "build"
    assert jobs["deploy"]["environment"]["name"] == "github-pages"


def test_only_calls_the_command_line_and_pins_the_pages_actions():
    jobs = _load("pages")["jobs"]
    steps = [s for job in jobs.values() for s in job["steps"]]
    runs = [s["run"] for s in steps if "run" in s]
    install = (
        "python -m pip install --require-hashes --no-deps -r requirements.txt\n"
        "python -m pip install --no-deps --no-build-isolation .\n"
    )
    assert runs == [install, "alerting report --root . --out site"]
    args = build_parser().parse_args(runs[1].split()[1:])
    assert args.func.__name__ == "run_report" and str(args.out) == "site"
    uses = {s["uses"].split("@")[0]: s["uses"].split("@")[1] for s in steps if "uses" in s}
    for action in (
        "actions/cache",
        "actions/configure-pages",
        "actions/upload-pages-artifact",
        "actions/deploy-pages",
    ):
        assert len(uses[action]) == 40, f"{action} is not pinned to a commit"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "site"


def test_the_previous_site_is_restored_before_the_report_so_its_figures_are_reused():
    steps = _load("pages")["jobs"]["build"]["steps"]
    names = [s.get("uses", s.get("run", "")).split("@")[0] for s in steps]
    restore = steps[names.index("actions/cache")]
    assert names.index("actions/cache") < names.index("alerting report --root . --out site")
    assert restore["with"]["path"] == "site"
    # A new entry each run (entries are immutable), restored from the newest one.
    assert "github.run_id" in restore["with"]["key"]
    assert restore["with"]["key"].startswith(restore["with"]["restore-keys"])
