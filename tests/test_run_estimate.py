"""`alerting run --estimate` and the estimate in the run summary (BigQuery dry runs)."""

import shutil
from pathlib import Path

import pytest

from alerting.cli import main
from alerting.data import bigquery

REPO = Path(__file__).resolve().parents[1]


class Job:
    def __init__(self, total_bytes_processed=None):
        self.total_bytes_processed = total_bytes_processed

    def result(self):
        return iter([])  # no GLAM rows: the run goes on with nothing to detect


class Client:
    """Answers dry runs with 1 GiB per query and real queries with no rows; records both."""

    def __init__(self):
        self.dry, self.real = [], []

    def query(self, sql, job_config=None):
        if job_config.dry_run:
            self.dry.append(job_config)
            return Job(2**30)
        self.real.append(job_config)
        return Job()


@pytest.fixture
def repo(tmp_path):
    shutil.copytree(REPO / "probes", tmp_path / "probes")
    return tmp_path


def bigquery_source(root: Path, monkeypatch) -> Client:
    (root / "alerting.toml").write_text(
        '[data]\nsource = "bigquery"\nchannels = ["nightly", "beta"]\nmaximum_bytes_billed = 5000\n'
    )
    client = Client()
    pytest.importorskip("google.cloud.bigquery")
    monkeypatch.setattr(bigquery, "_client", lambda project: client)
    return client


def test_estimate_dry_runs_the_run_queries_and_does_nothing_else(repo, monkeypatch, capsys):
    client = bigquery_source(repo, monkeypatch)
    assert main(["run", "--estimate", "--root", str(repo)]) == 0
    out = capsys.readouterr().out
    queries = len(client.dry)
    assert queries >= 2 and queries % 2 == 0  # each app's query on both channels
    assert f"scan {queries:,.2f} GiB ({queries * 2**30:,} bytes)" in out
    assert "each query may bill at most 0.00 GiB (5,000 bytes)" in out
    assert client.real == [] and not (repo / "state").exists()


def test_run_summary_shows_the_estimate_and_queries_carry_the_limit(repo, monkeypatch, capsys):
    client = bigquery_source(repo, monkeypatch)
    monkeypatch.setattr("alerting.pipeline.detect.os.cpu_count", lambda: 1)  # no workers
    main(["run", "--root", str(repo)])
    out = capsys.readouterr().out
    assert f"BigQuery: the run's queries scan {len(client.dry):,.2f} GiB" in out
    assert client.real and {c.maximum_bytes_billed for c in client.real} == {5000}


def test_estimate_for_a_source_without_bigquery(repo, capsys):
    assert main(["run", "--estimate", "--root", str(repo)]) == 0
    assert "Data source 'sample': no BigQuery query, nothing billed." in capsys.readouterr().out
    assert not (repo / "state").exists()
