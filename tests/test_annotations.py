"""`probes validate --format github`: problems as workflow annotations on the changed lines."""

import textwrap

from alerting.cli import main
from alerting.errors import Problem
from alerting.gitops.annotations import error_annotation

BAD_METRICS = textwrap.dedent(
    """\
    $schema: moz://mozilla.org/schemas/glean/metrics/2-0-0
    startup:
      first_paint:
        type: timing_distribution
        time_unit: millisecond
        description: Time to first paint.
        bugs:
          - https://bugzilla.mozilla.org/show_bug.cgi?id=1
        data_reviews:
          - https://bugzilla.mozilla.org/show_bug.cgi?id=1
        notification_emails: [owner@example.com]
        expires: never
        metadata:
          monitor:
            alert: True
    """
)


def test_annotation_escapes_untrusted_text():
    problem = Problem("probes/a,b:c.yaml", 12, "cat.probe", "monitor", "50% off\n::warning::x")
    assert error_annotation(problem) == (
        "::error file=probes/a%2Cb%3Ac.yaml,line=12,title=cat.probe%3A monitor"
        "::50%25 off%0A::warning::x"
    )


def test_annotation_without_probe_has_no_title():
    assert error_annotation(Problem("f.yaml", 1, "", "", "empty file")) == (
        "::error file=f.yaml,line=1::empty file"
    )


def test_validate_prints_github_annotations(tmp_path, capsys):
    path = tmp_path / "metrics.yaml"
    path.write_text(BAD_METRICS)
    assert main(["probes", "validate", "--format", "github", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    annotations = [line for line in out if line.startswith("::error ")]
    assert annotations, out
    assert all(f"file={path}," in line for line in annotations)
    alert_line = BAD_METRICS.splitlines().index("        alert: True") + 1
    assert any(
        f",line={alert_line}," in line and "title=startup.first_paint%3A " in line
        for line in annotations
    )
