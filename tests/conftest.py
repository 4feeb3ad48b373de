"""Suite-wide test settings.

Hypothesis properties run derandomized by default, so a clean-clone CI run is repeatable: a
property that fails, fails on every run of the same commit. ``FRUGAL_TEST_EXPLORE=1`` draws fresh
random examples instead; that is how new counterexamples are hunted (run the property tests a few
times) before they are pinned with ``@example``.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("explore" if os.environ.get("FRUGAL_TEST_EXPLORE") == "1" else "repeatable")
