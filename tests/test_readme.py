"""The README is the short path: it opens with the two commands, fits on two screens, links only
to files that exist, and every ```python block in it runs as it stands.

Each block runs alone in a fresh interpreter, in an empty temporary directory, so a block that
uses a name it does not define, or a file it does not create, fails here. The guide pages reuse
`python_blocks` and `run_block` (tests/test_docs_snippets.py).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MAX_LINES = 120  # two screens of 60 lines

_BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
# A block that cannot run alone (a settings excerpt that needs a project around it) says so on
# the line before its fence: `<!-- fragment: why -->`. Invisible on GitHub and in the HTML.
_FRAGMENT = re.compile(r"<!-- fragment: (\S.*?) -->\n\Z")


def python_blocks(path: Path) -> list[tuple[str, str, str | None]]:
    """``(id, code, fragment reason or None)`` for each ```python block of a Markdown file, the
    id from the section it sits in."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()]
        prose = re.sub(r"^```.*?^```$", "", before, flags=re.MULTILINE | re.DOTALL)
        headings = re.findall(r"^#+ (.+)$", prose, re.MULTILINE)
        section = re.sub(r"\W+", "-", headings[-1].split(" (")[0]).strip("-").lower()
        fragment = _FRAGMENT.search(before)
        found.append((f"{section}-{len(found) + 1}", match.group(1),
                      fragment.group(1) if fragment else None))
    return found


def run_block(code: str, cwd: Path, timeout: float) -> None:
    """Run one block alone in a fresh interpreter in ``cwd``; fail with its stderr."""
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"the example failed:\n{code}\n{result.stderr}"


SNIPPETS = [(name, code) for name, code, _ in python_blocks(README)]


def test_the_readme_has_runnable_examples():
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize("code", [code for _, code in SNIPPETS],
                         ids=[name for name, _ in SNIPPETS])
def test_a_readme_example_runs_on_its_own(code, tmp_path):
    run_block(code, tmp_path, timeout=90)


def test_the_readme_opens_with_the_two_commands_and_fits_on_two_screens():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_LINES, f"README has {len(lines)} lines; move detail to docs/"
    opening = "\n".join(lines[:6])
    assert opening.index("make test") < opening.index("make demo")
    assert "`.ci/run` runs `make test`" in " ".join(lines)


def test_every_relative_link_in_the_readme_exists():
    targets = _LINK.findall(README.read_text(encoding="utf-8"))
    local = [t.split("#")[0] for t in targets if "://" not in t and not t.startswith("#")]
    assert local
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing
