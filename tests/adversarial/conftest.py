"""Hypothesis profiles: a modest budget for ``make test``, a deep one for ``make fuzz``.

``HYPOTHESIS_PROFILE=deep`` (set by ``make fuzz``) runs many more examples per property.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=3000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
