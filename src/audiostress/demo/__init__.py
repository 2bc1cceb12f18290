"""``audiostress demo``: the main job on built-in parts, with nothing downloaded.

A generated dataset (``data``), a baseline LFCC + logistic-regression detector
trained at first use and cached (``detector``), the ``quick`` grid, and the
report (``run``). The detector is a baseline for showing the pipeline, not a
product.
"""

from .run import DEFAULT_OUT, run_demo

__all__ = ["DEFAULT_OUT", "run_demo"]
