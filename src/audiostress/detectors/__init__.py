"""Detector loaders: wrap any checkpoint as a ``Detector`` returning ``raw_score`` and ``p_fake``.

``DetectorSpec.parse`` reads a spec, card or callable once (picklable, location-free
``identity()``); ``load_detector(...)`` is ``DetectorSpec.parse(...).load()``.

>>> import torch
>>> det = load_detector(lambda x: x.mean(dim=1), output={"kind": "score", "higher_is_fake": True},
...                     input={"length": 8000})
>>> scores = det.score([torch.zeros(1, 16000)], 16000, clip_ids=["a"])
>>> float(scores.p_fake[0])
0.5
"""

from .base import Detector, DetectorContractError, DetectorError, DetectorLoadError, Scores
from .card import CardError, card_schema, read_card
from .detector_spec import DetectorSpec
from .factory import TRUST_CHECKPOINT_HELP
from .load import load_detector
from .spec import InputSpec, OutputSpec

__all__ = [
    "TRUST_CHECKPOINT_HELP",
    "CardError",
    "Detector",
    "DetectorContractError",
    "DetectorError",
    "DetectorLoadError",
    "DetectorSpec",
    "InputSpec",
    "OutputSpec",
    "Scores",
    "card_schema",
    "load_detector",
    "read_card",
]
