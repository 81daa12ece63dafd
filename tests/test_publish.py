"""`alerting state publish` against real git: a bare remote, racing clones, a rejecting hook."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from alerting.cli import main
from alerting.gitops.publish import PublishError, publish

IDENTITY = ["-c", "user.name=Test Runner", "-c", "user.email=runner@example.org"]


@pytest.fixture(autouse=True)
def git_identity(monkeypatch, tmp_path):
    """Commits (and rebases) need an identity; the user's global git config stays out."""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Runner")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "runner@example.org")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Runner")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "runner@example.org")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def run_git(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return result.stdout


@pytest.fixture
def remote(tmp_path) -> Path:
    """A bare remote whose main has one commit with an empty state/."""
    bare = tmp_path / "remote.git"
    run_git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(bare))
    seed = tmp_path / "seed"
    run_git(tmp_path, "clone", "--quiet", str(bare), str(seed))
    (seed / "state").mkdir()
    (seed / "state" / ".gitkeep").write_text("")
    (seed / "README.md").write_text("repo\n")
    # The product's own ignore list: it ignores the state lock publish holds while it runs.
    shutil.copy(Path(__file__).resolve().parents[1] / ".gitignore", seed / ".gitignore")
    run_git(seed, "add", ".")
    run_git(seed, "commit", "--quiet", "-m", "initial")
    run_git(seed, "push", "--quiet", "origin", "HEAD:main")
    return bare


def clone(remote: Path, name: str, shallow: bool = False) -> Path:
    """A clone; `shallow` like actions/checkout's default depth-1 fetch."""
    path = remote.parent / name
    depth = ["--depth", "1"] if shallow else []
    run_git(remote.parent, "clone", "--quiet", *depth, remote.as_uri(), str(path))
    return path


def write_alert(repo: Path, alert_id: str, **fields) -> None:
    path = repo / "state" / "alerts" / f"{alert_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"id": alert_id, "bug": None, "status": "new", **fields}))


def remote_log(remote: Path) -> list[str]:
    return run_git(remote, "log", "--format=%s", "main").splitlines()


def remote_files(remote: Path) -> list[str]:
    return run_git(remote, "ls-tree", "-r", "--name-only", "main").splitlines()


def test_two_racing_clones_both_land(remote):
    first, second = clone(remote, "first"), clone(remote, "second", shallow=True)
    write_alert(first, "a1")
    write_alert(second, "b1")
    write_alert(second, "b2")

    one = publish(first)
    two = publish(second)  # its clone is stale: rejected, fetched, rebased, pushed

    assert (one.attempts, two.attempts) == (1, 2)
    assert remote_log(remote) == ["alerts: 2 new", "alerts: 1 new", "initial"]
    assert {"state/alerts/a1.json", "state/alerts/b1.json", "state/alerts/b2.json"} <= set(
        remote_files(remote)
    )
    assert run_git(second, "rev-parse", "HEAD") == run_git(remote, "rev-parse", "main")


def test_after_a_rebase_the_message_describes_what_is_left_of_the_commit(remote):
    first, second = clone(remote, "first"), clone(remote, "second")
    write_alert(first, "a1")
    write_alert(second, "a1")  # the same record, written by both runs
    write_alert(second, "b2")

    publish(first)
    two = publish(second)

    assert two.attempts == 2 and two.message.splitlines()[0] == "alerts: 1 new"
    assert remote_log(remote) == ["alerts: 1 new", "alerts: 1 new", "initial"]
    body = run_git(remote, "log", "-1", "--format=%B", "main")
    assert "b2" in body and "a1" not in body


def test_a_commit_the_other_run_already_published_is_not_reported_as_published(remote, monkeypatch):
    first, second = clone(remote, "first"), clone(remote, "second")
    write_alert(first, "a1")
    write_alert(second, "a1")

    publish(first)
    # Another run's commit of the same bytes is made at another time: it is another commit.
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2026-01-02T00:00:00Z")
    two = publish(second)

    assert (two.pushed, two.commit, two.message) == (False, None, "")
    assert remote_log(remote) == ["alerts: 1 new", "initial"]


def test_rerun_with_nothing_new_makes_no_commit(remote, monkeypatch, capsys):
    repo = clone(remote, "work")
    write_alert(repo, "a1")
    monkeypatch.chdir(repo)
    assert main(["state", "publish", "--message-from-run"]) == 0
    before = run_git(remote, "rev-parse", "main")

    assert main(["state", "publish", "--message-from-run"]) == 0

    assert "nothing to publish" in capsys.readouterr().out
    assert run_git(remote, "rev-parse", "main") == before
    assert run_git(repo, "rev-parse", "HEAD") == before


def test_rejecting_remote_fails_loudly(remote, monkeypatch, capsys):
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    repo = clone(remote, "work")
    write_alert(repo, "a1")
    monkeypatch.chdir(repo)

    status = main(["state", "publish", "--retries", "3"])

    err = capsys.readouterr().err
    assert status == 1
    assert "NOT published" in err
    assert "pushes are frozen" in err
    assert remote_log(remote) == ["initial"]


def test_push_still_rejected_after_retries_is_an_error(remote):
    first, second = clone(remote, "first"), clone(remote, "second")
    write_alert(first, "a1")
    publish(first)
    write_alert(second, "b1")
    with pytest.raises(PublishError, match="still rejected after 1 attempts"):
        publish(second, retries=0)
    assert remote_log(remote) == ["alerts: 1 new", "initial"]


def test_conflicting_runs_abort_the_rebase_and_fail(remote):
    first, second = clone(remote, "first"), clone(remote, "second")
    write_alert(first, "a1", bug=11)
    write_alert(second, "a1", bug=22)
    publish(first)
    with pytest.raises(PublishError, match="changed the same state files"):
        publish(second)
    assert not (second / ".git" / "rebase-merge").exists()
    assert not (second / ".git" / "rebase-apply").exists()
    assert remote_log(remote) == ["alerts: 1 new, 1 bug filed", "initial"]


def test_only_state_is_committed_and_message_describes_the_diff(remote, tmp_path, monkeypatch):
    repo = clone(remote, "work")
    write_alert(repo, "a1")
    publish(repo)
    write_alert(repo, "a1", bug=123, status="resolved", resolution="FIXED")
    (repo / "README.md").write_text("edited, not part of the state\n")
    (repo / "notes.txt").write_text("untracked\n")
    summary = tmp_path / "run-summary.md"
    summary.write_text("checked 4 probes\n")
    monkeypatch.chdir(repo)

    assert main(["state", "publish", "--message-from-run", str(summary)]) == 0

    message = run_git(remote, "log", "-1", "--format=%B", "main")
    assert message.splitlines()[0] == "alerts: 1 bug filed, 1 resolved (FIXED)"
    assert "checked 4 probes" in message
    changed = run_git(remote, "show", "--name-only", "--format=", "main").split()
    assert changed == ["state/alerts/a1.json"]
    assert run_git(repo, "status", "--porcelain").splitlines() == [" M README.md", "?? notes.txt"]


def test_the_ignored_lock_and_an_interrupted_write_are_never_committed(remote):
    repo = clone(remote, "work")
    write_alert(repo, "a1")
    (repo / "state" / "alerts" / ".a2.json.k3j9x1").write_text('{"id": "a2", "sta')

    assert publish(repo).pushed

    changed = run_git(remote, "show", "--name-only", "--format=", "main").split()
    assert changed == ["state/alerts/a1.json"]
    assert "state/.gitkeep" in run_git(remote, "ls-tree", "-r", "--name-only", "main").split()


def test_missing_run_result_still_publishes_with_a_warning(remote, monkeypatch, capsys):
    repo = clone(remote, "work")
    write_alert(repo, "a1", bug=5)
    monkeypatch.chdir(repo)
    assert main(["state", "publish", "--message-from-run", "no-such-result.json"]) == 0
    assert "no-such-result.json" in capsys.readouterr().err
    assert remote_log(remote)[0] == "alerts: 1 new, 1 bug filed"


def test_run_result_json_becomes_the_commit_body(remote, tmp_path, monkeypatch):
    repo = clone(remote, "work")
    write_alert(repo, "a1")
    result = tmp_path / "run-result.json"
    result.write_text(
        json.dumps(
            {
                "date": "2026-11-01",
                "mode": "outbox",
                "dry_run": False,
                "new_alerts": ["a1"],
                "config_errors": [],
                "steps": [
                    {
                        "name": "detect",
                        "counts": {"series": 40, "new detections": 1},
                        "notes": [],
                        "errors": [],
                    },
                    {"name": "file bugs", "counts": {}, "notes": [], "errors": ["boom"]},
                ],
            }
        )
    )
    monkeypatch.chdir(repo)
    assert main(["state", "publish", "--message-from-run", str(result)]) == 0
    body = run_git(remote, "log", "-1", "--format=%b", "main")
    assert "run 2026-11-01 (outbox)" in body
    assert "- detect: 40 series, 1 new detections" in body
    assert "- file bugs: nothing to do; 1 error" in body


def test_simultaneous_publishes_both_land(remote):
    from concurrent.futures import ThreadPoolExecutor

    clones = [clone(remote, f"runner{i}") for i in range(3)]
    for i, repo in enumerate(clones):
        write_alert(repo, f"alert{i}")
    with ThreadPoolExecutor(len(clones)) as pool:
        results = list(pool.map(lambda repo: publish(repo, retries=5), clones))
    assert all(r.pushed for r in results)
    assert len(remote_log(remote)) == 4
    assert {f"state/alerts/alert{i}.json" for i in range(3)} <= set(remote_files(remote))


def test_outside_a_git_repository_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from alerting.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["state", "publish"]) == 1
    assert "not a git repository" in capsys.readouterr().err


def test_other_unpublished_commits_are_refused(remote, monkeypatch, capsys):
    """A local commit outside state/ would have been pushed along ("pushed earlier local state
    commits"); now nothing is pushed and the commit is named."""
    repo = clone(remote, "work")
    monkeypatch.chdir(repo)
    (repo / "README.md").write_text("local edit\n")
    run_git(repo, "commit", "--quiet", "-am", "an unrelated local change")
    write_alert(repo, "a1")
    before = remote_log(remote)
    assert main(["state", "publish"]) == 1
    err = capsys.readouterr().err
    assert "state NOT published" in err and "1 commit(s) not on origin/main" in err
    assert "an unrelated local change" in err
    assert remote_log(remote) == before
    assert run_git(repo, "log", "--format=%s", "-1") == "an unrelated local change\n"


def test_an_earlier_state_commit_is_still_pushed(remote, monkeypatch, capsys):
    repo = clone(remote, "work")
    monkeypatch.chdir(repo)
    write_alert(repo, "a1")
    run_git(repo, "add", "state")
    run_git(repo, "commit", "--quiet", "-m", "state: from a run whose push failed")
    assert main(["state", "publish"]) == 0
    assert "pushed earlier local state commits" in capsys.readouterr().out
    assert remote_files(remote) == [
        ".gitignore",
        "README.md",
        "state/.gitkeep",
        "state/alerts/a1.json",
    ]


def test_a_mistyped_remote_is_an_error(remote, monkeypatch, capsys):
    repo = clone(remote, "work")
    monkeypatch.chdir(repo)
    write_alert(repo, "a1")
    assert main(["state", "publish", "--remote", "orgin"]) == 1
    err = capsys.readouterr().err
    assert "no remote named 'orgin' (this repository has origin)" in err
    assert run_git(repo, "status", "--porcelain").splitlines() == ["?? state/alerts/"]


def test_publish_waits_for_a_run_holding_the_state_lock(remote, monkeypatch, capsys):
    from alerting.statelock import state_lock

    repo = clone(remote, "work")
    monkeypatch.chdir(repo)
    write_alert(repo, "a1")
    with state_lock(repo / "state"), pytest.raises(PublishError, match="is in use by another"):
        publish(repo, lock_wait=0.2)
    assert publish(repo).pushed
    assert "state/.lock" not in remote_files(remote)
