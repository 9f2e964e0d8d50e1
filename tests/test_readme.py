"""The README is the short path: it opens with the two commands, fits on two screens, links only
to files that exist, and every ```python block in it runs as it stands.

Each block runs alone in a fresh interpreter, in an empty temporary directory, so a block that
uses a name it does not define, or a file it does not create, fails here.
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


def _snippets() -> list[tuple[str, str]]:
    """``(id, code)`` for each ```python block, the id from the section it sits in."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        headings = re.findall(r"^#+ (.+)$", text[: match.start()], re.MULTILINE)
        section = re.sub(r"\W+", "-", headings[-1].split(" (")[0]).strip("-").lower()
        found.append((f"{section}-{len(found) + 1}", match.group(1)))
    return found


SNIPPETS = _snippets()


def test_the_readme_has_runnable_examples():
    assert len(SNIPPETS) >= 5


@pytest.mark.parametrize("code", [code for _, code in SNIPPETS],
                         ids=[name for name, _ in SNIPPETS])
def test_a_readme_example_runs_on_its_own(code, tmp_path):
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=90)
    assert result.returncode == 0, f"the example failed:\n{code}\n{result.stderr}"


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
