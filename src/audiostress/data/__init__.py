"""Evaluation datasets: folders, CSV/JSONL manifests and ASVspoof protocols -> ``Clip`` records."""

from .clip import LABELS, Clip, Dataset, DatasetError, Problem, normalise_label
from .load import load_dataset
from .subset import stratified_subset

__all__ = [
    "LABELS",
    "Clip",
    "Dataset",
    "DatasetError",
    "Problem",
    "load_dataset",
    "normalise_label",
    "stratified_subset",
]
