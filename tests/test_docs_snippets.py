"""Every ```python block of the guide pages (docs/*.md) runs as it stands, like the README's.

Each block runs alone in a fresh interpreter, in an empty temporary directory, so a block that
uses a name it does not define, or a file it does not create, fails here. Files a page includes
from elsewhere (the changelog, the benchmarks and recipes READMEs) are not read: only the text
of the page itself is. A block that cannot run alone is marked `<!-- fragment: why -->` on the
line before its fence: it is not run (nothing is skipped: a skip would read as a failure
hidden), and the first test holds the fragments to a few, each with its reason.
"""

from __future__ import annotations

import pytest

from test_readme import ROOT, python_blocks, run_block

PAGES = sorted((ROOT / "docs").glob("*.md"))
BLOCKS = [(f"{page.stem}:{name}", code, fragment)
          for page in PAGES for name, code, fragment in python_blocks(page)]
MAX_FRAGMENTS = 3  # Django settings excerpts; anything else should run


RUNNABLE = [(name, code) for name, code, fragment in BLOCKS if not fragment]


def test_the_guides_have_runnable_examples_and_few_fragments():
    fragments = {name: fragment for name, _, fragment in BLOCKS if fragment}
    assert len(RUNNABLE) >= 10
    assert len(fragments) <= MAX_FRAGMENTS, fragments
    assert all(reason.strip() for reason in fragments.values()), fragments


@pytest.mark.parametrize("code", [code for _, code in RUNNABLE],
                         ids=[name for name, _ in RUNNABLE])
def test_a_guide_example_runs_on_its_own(code, tmp_path):
    run_block(code, tmp_path, timeout=20)
