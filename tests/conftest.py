"""Shared fixtures."""

from __future__ import annotations

import pytest

from harness import make_environ


@pytest.fixture
def environ():
    """A fresh GET / environ from 127.0.0.1 (see ``harness.make_environ``)."""
    return make_environ()
