"""Mutation testing of the core modules with mutmut 3, module by module.

Run by hand, never in CI (a run of all five modules takes tens of minutes):

    .venv/bin/pip install -e '.[test,mutation]'
    .venv/bin/python benchmarks/mutation.py                       # the five modules
    .venv/bin/python benchmarks/mutation.py responses comparison  # some of them

For each module it copies the package, the tests, the sample articles and pyproject.toml
to a temporary folder (mutmut writes its ``mutants/`` folder where it runs), narrows the
``[tool.mutmut]`` table of pyproject.toml to that module and to the test files that cover
it (``MODULES``), and runs ``mutmut run`` there with ``--max-children`` children. It prints
each module's mutants, killed (timeouts count: the tests noticed), survivors and score,
then the names of the survivors; ``mutmut show NAME`` in the kept folder (``--keep``) shows
one. Tests that start the server in another process kill nothing here: mutmut only sees
code that runs in the pytest process. See mutation.md for the figures and the survivors
that are equivalent.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]

# Each module with the test files that exercise it in the pytest process.
MODULES: dict[str, tuple[str, ...]] = {
    "responses": ("tests/test_web.py",),
    "articles": (
        "tests/test_articles.py",
        "tests/test_articles_reference.py",
        "tests/test_repository_reading.py",
    ),
    "config": ("tests/test_config.py", "tests/test_cli.py"),
    "comparison": ("tests/test_comparison.py", "tests/test_checks.py"),
    "checks": (
        "tests/test_checks_documents.py",
        "tests/test_comparison.py",
        "tests/test_checks.py",
    ),
    # The feed readers that checks.py was split into, checked by the same tests.
    "feedreading": (
        "tests/test_checks_documents.py",
        "tests/test_comparison.py",
        "tests/test_checks.py",
    ),
}
DETECTED = ("killed", "timeout", "segfault", "caught_by_type_check")
NOT_RUN = ("skipped", "not_checked", "check_was_interrupted_by_user")


def toml_value(value: object) -> str:
    """Write a string, number, boolean or list of strings as TOML (JSON's syntax for them)."""
    return json.dumps(value)


def narrowed_pyproject(module: str, tests: tuple[str, ...]) -> str:
    """Return pyproject.toml with its ``[tool.mutmut]`` table narrowed to one module."""
    text = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    table = dict(tomllib.loads(text)["tool"]["mutmut"])
    table["only_mutate"] = [f"feedsvc/{module}.py"]
    table["pytest_add_cli_args_test_selection"] = list(tests)
    kept, inside = [], False
    for line in text.splitlines():
        if line.startswith("["):
            inside = line.strip() == "[tool.mutmut]"
        if not inside:
            kept.append(line)
    kept += ["[tool.mutmut]"] + [f"{key} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(kept) + "\n"


def prepare(work: Path, module: str, tests: tuple[str, ...]) -> None:
    """Copy what the tests need into ``work`` with the narrowed configuration."""
    for folder in ("feedsvc", "tests", "articles"):
        shutil.copytree(
            PROJECT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    (work / "pyproject.toml").write_text(narrowed_pyproject(module, tests), "utf-8")


def run_module(
    work: Path, module: str, tests: tuple[str, ...], max_children: int
) -> tuple[dict[str, int], list[str]]:
    """Run mutmut over ``module`` with ``tests`` in ``work``; return counts and survivors."""
    prepare(work, module, tests)
    with (work / "mutmut.log").open("wb") as log:
        run = [*MUTMUT, "run", "--max-children", str(max_children)]
        subprocess.run(run, cwd=work, stdout=log, stderr=subprocess.STDOUT, check=True)
        subprocess.run([*MUTMUT, "export-cicd-stats"], cwd=work, stdout=log, check=True)
    stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text("utf-8"))
    listing = subprocess.run(
        [*MUTMUT, "results"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    survivors = [line.split(":")[0].strip() for line in listing.splitlines() if ":" in line]
    return stats, survivors


def summary(module: str, stats: dict[str, int]) -> str:
    """One line: mutants, killed, survivors and the score (killed over mutants run)."""
    run = stats["total"] - sum(stats.get(key, 0) for key in NOT_RUN)
    killed = sum(stats.get(key, 0) for key in DETECTED)
    score = 100 * killed / run if run else 0.0
    return f"{module}.py: {run} mutants, {killed} killed, {run - killed} survived, {score:.1f}%"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    parser.add_argument("--max-children", type=int, default=2, help="mutmut's child processes")
    parser.add_argument("--keep", type=Path, help="run in this folder (one subfolder a module)")
    parser.add_argument(
        "--tests",
        nargs="+",
        metavar="FILE",
        help="only these test files (a lower bound of the score: more tests only kill more)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.modules) - set(MODULES))
    if unknown:
        parser.error(f"no such module: {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    root = args.keep or Path(tempfile.mkdtemp(prefix="feedsvc-mutation-"))
    try:
        for module in args.modules or MODULES:
            work = root / module
            shutil.rmtree(work, ignore_errors=True)
            tests = tuple(args.tests) if args.tests else MODULES[module]
            stats, survivors = run_module(work, module, tests, args.max_children)
            print(summary(module, stats), flush=True)
            for name in survivors:
                print(f"    {name}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
