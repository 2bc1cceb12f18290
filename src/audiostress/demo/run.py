"""``run_demo``: the whole pipeline on built-in parts — generated data, the baseline detector, the ``quick`` grid, the report.

Nothing is downloaded. The demo is small (2-s clips, a linear model), so it runs
torch single-threaded while it works (``data.torch_threads``); the previous
thread count is restored afterwards.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from . import data, detector

log = logging.getLogger("audiostress.demo")

#: Default output folder of ``audiostress demo``.
DEFAULT_OUT = Path("audiostress-demo")
#: Evaluation clips per class.
N_PER_CLASS = 40


def run_demo(out: str | Path = DEFAULT_OUT, *, quiet: bool = False) -> Path:
    """Generate the demo dataset under ``out/data``, sweep the baseline detector over the ``quick`` grid
    into ``out`` and write the report; returns the path of ``out/report.html``.

    Running it again with the same ``out`` resumes the finished sweep (nothing is rescored).
    Progress goes to the ``audiostress`` logger (DEBUG when ``quiet``); a bar is drawn unless ``quiet``.
    """
    from ..detectors import load_detector
    from ..reports import write_report
    from ..runners.sweep import SweepConfig, run_sweep

    out = Path(out)
    start = time.perf_counter()
    with data.torch_threads(1):
        say = log.debug if quiet else log.info
        say("writing %d generated clips to %s", 2 * N_PER_CLASS, out / "data")
        data_dir = data.write_dataset(out / "data", N_PER_CLASS, data.EVAL_SEED)
        checkpoint = detector.ensure_checkpoint(quiet=quiet)
        det = load_detector("audiostress.demo.detector:build", checkpoint=str(checkpoint), input=dict(detector.INPUT),
                            output=dict(detector.OUTPUT), name=detector.DETECTOR_NAME)
        result = run_sweep(SweepConfig(detector=det, data=str(data_dir), grid="quick", out=out, quiet=quiet,
                                       progress=not quiet))
    report = result.report if result.report is not None else write_report([out])
    clean = result.metrics.get("clean", {})
    eer = clean.get("eer")
    eer_text = f"{eer:.3f}" if isinstance(eer, float) else "n/a"
    say("clean EER of the baseline detector %s; %d scores in %.1f s", eer_text, result.n_scored,
        time.perf_counter() - start)
    return report
