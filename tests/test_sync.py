"""`alerting probes sync`: monitor blocks from a Glean Dictionary index.json, every other byte kept."""

import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from alerting.cli import main
from alerting.probes.config import collect
from alerting.probes.sync import monitors_from_index, sync_text

REAL = Path(__file__).parent / "fixtures" / "probes" / "real_metrics"
NETWERK = REAL / "netwerk__metrics.yaml"
PROCESSTOOLS = REAL / "toolkit__components__processtools__metrics.yaml"
MONITORED = "networking.http_channel_page_open_to_first_sent"


def index_of(path: Path) -> dict:
    """What the Glean Dictionary would publish for this file, as it is."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    metrics = []
    for category, entries in document.items():
        if category.startswith("$") or not isinstance(entries, dict):
            continue
        for name, metric in entries.items():
            metadata = metric.get("metadata") or {}
            metrics.append(
                {
                    "name": f"{category}.{name}",
                    "type": metric.get("type"),
                    "monitor": metadata.get("monitor") or {},
                }
            )
    return {"metrics": metrics}


def with_monitor(index: dict, name: str, monitor) -> dict:
    for entry in index["metrics"]:
        if entry["name"] == name:
            entry["monitor"] = monitor
    return index


@pytest.fixture
def netwerk(tmp_path) -> Path:
    folder = tmp_path / "probes" / "netwerk"
    folder.mkdir(parents=True)
    return Path(shutil.copy(NETWERK, folder / "metrics.yaml"))


@pytest.mark.parametrize("real", sorted(REAL.glob("*metrics.yaml")), ids=lambda p: p.name)
def test_unchanged_dictionary_leaves_real_files_byte_identical(real):
    text = real.read_text(encoding="utf-8")
    result = sync_text(text, real.name, monitors_from_index(index_of(real)))
    assert result.problems == []
    assert result.changed == []
    assert result.text == text


def test_sync_command_rewrites_nothing_when_nothing_changed(netwerk, tmp_path, capsys):
    index = tmp_path / "index.json"
    index.write_text(json.dumps(index_of(NETWERK)))
    assert main(["probes", "sync", "--from", str(index), str(netwerk)]) == 0
    assert netwerk.read_bytes() == NETWERK.read_bytes()
    assert "changed 0 monitor block(s) in 0 of 1 file(s)" in capsys.readouterr().out


def test_changed_monitor_block_is_updated_with_comments_and_anchors_kept(netwerk, tmp_path):
    new_monitor = {
        "alert": False,
        "bugzilla_notification_emails": ["gmierz2@outlook.com"],
        "platforms": ["Windows", "Linux"],
        "lower_is_better": True,
    }
    index = tmp_path / "index.json"
    index.write_text(json.dumps(with_monitor(index_of(NETWERK), MONITORED, new_monitor)))

    assert main(["probes", "sync", "--from", str(index), str(netwerk)]) == 0

    before = NETWERK.read_text(encoding="utf-8").splitlines(keepends=True)
    after = netwerk.read_text(encoding="utf-8").splitlines(keepends=True)
    block = before.index("      monitor:\n", 1880)  # the real file's monitor block (line 1885)
    assert before[block - 1] == "      # Settings used for prototyping telemetry alerting\n"
    end = block + 4  # `monitor:`, alert, the emails key and its one item
    # Everything outside the block is byte-identical: licence header, anchors, merge keys.
    assert after[:block] == before[:block]
    added = len(after) - len(before)
    assert after[end + added :] == before[end:]
    assert after[block : end + added] == [
        "      monitor:\n",
        "        alert: False\n",
        "        bugzilla_notification_emails:\n",
        "          - gmierz2@outlook.com\n",
        "        platforms:\n",
        "          - Windows\n",
        "          - Linux\n",
        "        lower_is_better: True\n",
    ]
    text = "".join(after)
    assert text.count("&trr_dns_start") == 1 and text.count("<<: *trr_dns_start") == 7
    configs, problems = collect([netwerk])
    assert problems == []
    (config,) = [c for c in configs if c.probe == MONITORED]
    assert (config.alert, config.platforms, config.lower_is_better) == (
        False,
        ["Windows", "Linux"],
        True,
    )


def test_monitor_added_to_a_metric_that_merges_an_anchor(netwerk):
    text = netwerk.read_text(encoding="utf-8")
    upstream = monitors_from_index(
        with_monitor(index_of(NETWERK), "networking.trr_dns_end", {"platforms": ["All"]})
    )
    result = sync_text(text, "netwerk.yaml", upstream)
    assert result.problems == []
    assert [(probe, what) for _, probe, what in result.changed] == [
        ("networking.trr_dns_end", "monitor added")
    ]
    new = yaml.safe_load(result.text)["networking"]
    assert new["trr_dns_end"]["metadata"] == {"monitor": {"platforms": ["All"]}}
    assert "metadata" not in new["trr_dns_start"] and "metadata" not in new["trr_tcp_connection"]


def test_anchor_edit_that_would_leak_into_other_metrics_is_refused(netwerk):
    """Giving the anchor metric a monitor would hand it to every metric merging it too."""
    text = netwerk.read_text(encoding="utf-8")
    upstream = monitors_from_index(
        with_monitor(index_of(NETWERK), "networking.trr_dns_start", {"alert": False})
    )
    result = sync_text(text, "netwerk.yaml", upstream)
    assert result.text == text and result.changed == []
    assert "networking.trr_dns_end" in str(result.problems[0])


def test_whole_metric_aliases_are_edited_once_or_refused():
    text = PROCESSTOOLS.read_text(encoding="utf-8")
    aliases = [
        "power.wakeups_per_thread.parent_active",
        "power.wakeups_per_thread.parent_inactive",
        "power.wakeups_per_thread.content_foreground",
        "power.wakeups_per_thread.content_background",
        "power.wakeups_per_thread.gpu_process",
    ]
    index = index_of(PROCESSTOOLS)
    assert {e["name"] for e in index["metrics"]} >= set(aliases)
    one = monitors_from_index(with_monitor(index_of(PROCESSTOOLS), aliases[0], {"alert": False}))
    refused = sync_text(text, "processtools.yaml", one)
    assert refused.text == text
    assert "shared through a YAML anchor" in str(refused.problems[0])

    for name in aliases:
        index = with_monitor(index, name, {"alert": False})
    result = sync_text(text, "processtools.yaml", monitors_from_index(index))
    assert result.problems == []
    assert sorted(probe for _, probe, _ in result.changed) == sorted(aliases)
    assert result.text.count("*per_thread_wakeups") == text.count("*per_thread_wakeups")
    assert result.text.count("metadata:\n      monitor:\n        alert: False\n") == 1


def test_removed_upstream_monitor_is_removed_and_unknown_metrics_are_never_added(netwerk):
    text = netwerk.read_text(encoding="utf-8")
    index = with_monitor(index_of(NETWERK), MONITORED, {})
    index["metrics"].append({"name": "networking.not_in_probes", "monitor": {"alert": True}})
    result = sync_text(text, "netwerk.yaml", monitors_from_index(index))
    assert result.problems == []
    assert "monitor:" not in result.text and "not_in_probes" not in result.text
    metric = yaml.safe_load(result.text)["networking"]["http_channel_page_open_to_first_sent"]
    assert "metadata" not in metric


def test_metric_without_a_monitor_field_in_the_index_is_left_alone(netwerk):
    text = netwerk.read_text(encoding="utf-8")
    index = {"metrics": [{"name": MONITORED, "type": "timing_distribution"}]}
    assert sync_text(text, "netwerk.yaml", monitors_from_index(index)).text == text


class _IndexHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 - the http.server API
        if self.path != "/data/firefox_desktop/index.json":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def dictionary_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _IndexHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sync_from_a_url(netwerk, dictionary_server, capsys):
    index = with_monitor(
        index_of(NETWERK),
        MONITORED,
        {"alert": True, "bugzilla_notification_emails": ["a@example.org"]},
    )
    _IndexHandler.body = json.dumps(index).encode()
    url = f"{dictionary_server}/data/firefox_desktop/index.json"
    assert main(["probes", "sync", "--from", url, str(netwerk)]) == 0
    assert f"{MONITORED}: monitor updated" in capsys.readouterr().out
    assert "          - a@example.org\n" in netwerk.read_text(encoding="utf-8")

    assert (
        main(["probes", "sync", "--from", f"{dictionary_server}/missing.json", str(netwerk)]) == 1
    )
    assert "404" in capsys.readouterr().err


def test_not_an_index_is_a_user_error(tmp_path, netwerk, capsys):
    bad = tmp_path / "index.json"
    bad.write_text('{"pings": []}')
    assert main(["probes", "sync", "--from", str(bad), str(netwerk)]) == 1
    assert "Glean Dictionary index.json" in capsys.readouterr().err


def test_app_filter_syncs_only_that_apps_files(tmp_path, monkeypatch, capsys):
    desktop = tmp_path / "probes" / "netwerk"
    mobile = tmp_path / "probes" / "fenix" / "netwerk"
    for folder in (desktop, mobile):
        folder.mkdir(parents=True)
        shutil.copy(NETWERK, folder / "metrics.yaml")
    index = tmp_path / "index.json"
    index.write_text(json.dumps(with_monitor(index_of(NETWERK), MONITORED, {"alert": False})))
    monkeypatch.chdir(tmp_path)
    assert main(["probes", "sync", "--app", "fenix", "--from", str(index)]) == 0
    assert (desktop / "metrics.yaml").read_bytes() == NETWERK.read_bytes()
    assert (mobile / "metrics.yaml").read_bytes() != NETWERK.read_bytes()


def test_app_filter_ignores_the_folders_above_the_probes_folder(tmp_path, capsys):
    probes = tmp_path / "android-ci" / "repo" / "probes"
    desktop = probes / "netwerk"
    desktop.mkdir(parents=True)
    shutil.copy(NETWERK, desktop / "metrics.yaml")
    index = tmp_path / "index.json"
    index.write_text(json.dumps(with_monitor(index_of(NETWERK), MONITORED, {"alert": False})))
    assert main(["probes", "sync", "--app", "fenix", "--from", str(index), str(probes)]) == 0
    assert (desktop / "metrics.yaml").read_bytes() == NETWERK.read_bytes()
    assert "in 0 of 0 file(s)" in capsys.readouterr().out
    assert main(["probes", "sync", "--app", "fog", "--from", str(index), str(probes)]) == 0
    assert (desktop / "metrics.yaml").read_bytes() != NETWERK.read_bytes()


def test_a_crlf_file_keeps_its_line_endings(netwerk, tmp_path, capsys):
    """Every byte but the edited block is kept, line endings included."""
    index = tmp_path / "index.json"
    upstream = with_monitor(index_of(NETWERK), MONITORED, {"alert": False})
    # a metric without a monitor gains one: the `metadata:` and `monitor:` lines are new
    upstream = with_monitor(upstream, "networking.trr_fetch_duration", {"alert": False})
    index.write_text(json.dumps(upstream))
    lf = netwerk.parent / "lf.yaml"
    shutil.copy(NETWERK, lf)
    assert main(["probes", "sync", "--from", str(index), str(lf)]) == 0
    netwerk.write_bytes(NETWERK.read_bytes().replace(b"\n", b"\r\n"))
    assert main(["probes", "sync", "--from", str(index), str(netwerk)]) == 0
    assert "changed 2 monitor block(s) in 1 of 1 file(s)" in capsys.readouterr().out
    assert netwerk.read_bytes() == lf.read_bytes().replace(b"\n", b"\r\n")


def test_sync_never_writes_through_a_symbolic_link(tmp_path, capsys):
    index = tmp_path / "index.json"
    index.write_text(json.dumps(with_monitor(index_of(NETWERK), MONITORED, {"alert": False})))
    outside = tmp_path / "outside.yaml"
    shutil.copy(NETWERK, outside)
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "metrics.yaml").symlink_to(outside)
    before = outside.read_bytes()
    assert main(["probes", "sync", "--from", str(index), str(probes)]) == 0
    assert "not synced" in capsys.readouterr().err
    assert outside.read_bytes() == before


def test_a_file_with_a_value_yaml_cannot_build_is_not_synced_and_says_where(tmp_path, capsys):
    index = tmp_path / "index.json"
    index.write_text(json.dumps(with_monitor(index_of(NETWERK), MONITORED, {"alert": False})))
    path = tmp_path / "metrics.yaml"
    text = NETWERK.read_text() + "\n  extra:\n    type: counter\n    expires: 2026-02-30\n"
    path.write_text(text)
    line = text.count("\n")
    assert main(["probes", "sync", "--from", str(index), str(path)]) == 0
    assert f"not synced: {path}:{line}: expires: '2026-02-30' is not a valid date" in (
        capsys.readouterr().err
    )
    assert path.read_text() == text
