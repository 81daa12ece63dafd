"""`requirements.txt`, the hash-pinned lock the workflows install from, still matches
pyproject.toml: every dependency pinned at a version its specifier allows, every pin hashed,
nothing pinned that nothing needs. Checked offline; README says how to regenerate it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
PROJECT = "alerting (pyproject.toml)"
BUILD = "alerting (pyproject.toml::build-system.requires)"
LOCKED_EXTRAS = ("bigquery",)
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def parse_lock(text: str) -> dict[str, dict]:
    """name -> {"version", "hashes", "via"} from pip-compile's output."""
    pins: dict[str, dict] = {}
    current: dict | None = None
    in_via = False
    for line in text.splitlines():
        match = PIN.match(line)
        if match:
            current = {"version": match[2], "hashes": [], "via": set()}
            pins[canonicalize_name(match[1])] = current
            in_via = False
            continue
        stripped = line.strip()
        if current is None:
            continue
        if stripped.startswith("--hash=sha256:"):
            current["hashes"].append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
        elif stripped.startswith("# via"):
            rest = stripped.removeprefix("# via").strip()
            in_via = not rest
            if rest:
                current["via"].add(rest)
        elif in_via and stripped.startswith("#   "):
            current["via"].add(stripped.removeprefix("#").strip())
        else:
            in_via = False
    return pins


def project_requirements() -> tuple[list[Requirement], list[Requirement]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = list(data["project"]["dependencies"])
    for extra in LOCKED_EXTRAS:
        runtime += data["project"]["optional-dependencies"][extra]
    build = data["build-system"]["requires"]
    return [Requirement(r) for r in runtime], [Requirement(r) for r in build]


def lock_problems(text: str) -> list[str]:
    """What makes `text` not a lock of pyproject.toml (empty when it is one)."""
    pins = parse_lock(text)
    runtime, build = project_requirements()
    problems = []
    command = next((line for line in text.splitlines() if line.startswith("#    pip-compile")), "")
    options = ("--generate-hashes", "--all-build-deps", "--allow-unsafe", "pyproject.toml")
    extras = tuple(f"--extra={extra}" for extra in LOCKED_EXTRAS)
    problems += [f"compiled without {o}" for o in (*options, *extras) if o not in command]
    for requirement in [*runtime, *build]:
        pin = pins.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{requirement} is not pinned")
        elif not requirement.specifier.contains(pin["version"], prereleases=True):
            problems.append(f"{requirement} but {pin['version']} is pinned")
    for name, pin in pins.items():
        if not pin["hashes"] or not all(re.fullmatch(r"[0-9a-f]{64}", h) for h in pin["hashes"]):
            problems.append(f"{name} has no sha256 hash")
        for via in pin["via"] - {PROJECT, BUILD}:
            if canonicalize_name(via.split()[0]) not in pins:
                problems.append(f"{name} is pinned for {via}, which is not")
    direct = {canonicalize_name(r.name) for r in runtime}
    problems += [
        f"{name} is pinned as a dependency pyproject.toml does not have"
        for name, pin in pins.items()
        if PROJECT in pin["via"] and name not in direct
    ]
    return problems


def test_the_lock_matches_pyproject():
    problems = lock_problems(LOCK.read_text())
    assert problems == [], "regenerate requirements.txt (see README):\n" + "\n".join(problems)


def test_the_check_finds_a_stale_lock():
    text = LOCK.read_text()
    assert parse_lock(text)["numpy"]["hashes"]
    assert "tqdm>=4.66 is not pinned" in lock_problems(text.replace("\ntqdm==", "\ntqdmx=="))
    numpy = re.search(r"\nnumpy==(\S+)", text)[1]
    assert "numpy>=1.26 but 1.2 is pinned" in lock_problems(
        text.replace(f"numpy=={numpy}", "numpy==1.2")
    )
    extra = "\nleftover==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via " + PROJECT + "\n"
    assert lock_problems(text + extra) == [
        "leftover is pinned as a dependency pyproject.toml does not have"
    ]
    assert "compiled without --generate-hashes" in lock_problems(
        text.replace("--generate-hashes ", "")
    )
