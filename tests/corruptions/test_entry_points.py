"""Corruptions arrive through the ``audiostress.corruptions`` entry-point group, built-ins included."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from audiostress.corruptions import PluginError, available
from audiostress.corruptions.plugins import BUILTIN, GROUP, discover, load_entry_point

PLUGIN_MODULE = '''
import torch

from audiostress.corruptions import Corruption, Param, SeverityTable, register

CALLS = []


class HalfGain(Corruption):
    name = "plugin_half_gain"
    family = "modification"
    description = "Scales by `factor` (test plugin)."
    params = (Param("factor", 0.5, float, low=0.0, high=1.0),)
    levels = SeverityTable("test", "test plugin", tuple({"factor": f} for f in (0.9, 0.7, 0.5, 0.3, 0.1)))

    def transform_group(self, audio, sample_rate, generators, lengths, factor):
        return audio * factor


def load():
    CALLS.append(1)
    register(HalfGain)
'''

PROBE = """
import json
import numpy as np
import fake_plugin_mod
from audiostress.corruptions import available, create, load_builtins
load_builtins(); load_builtins(); available()
y = create("plugin_half_gain", severity=3)(np.ones(4, np.float32), 16000)
print(json.dumps({"names": available(), "calls": len(fake_plugin_mod.CALLS), "y": y.tolist()}))
"""


def write_dist(root: Path, dist: str, entry_points: dict[str, str], version: str = "0.1") -> Path:
    """A minimal installed distribution (``*.dist-info`` with METADATA and entry_points.txt) under ``root``."""
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{lines}")
    return root


def test_the_installed_metadata_declares_the_builtins():
    points = [ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.value == BUILTIN.value]
    assert [ep.name for ep in points] == ["builtins"]
    assert points[0].dist is not None and points[0].dist.metadata["Name"] == "audiostress"


def test_without_metadata_the_builtins_are_added_and_logged_at_debug(caplog):
    with caplog.at_level(logging.DEBUG, logger="audiostress.plugins"):
        points = discover([])
    assert [(ep.name, ep.value) for ep in points] == [("builtins", BUILTIN.value)]
    assert any(r.levelno == logging.DEBUG and "no 'audiostress.corruptions' entry point" in r.getMessage() for r in caplog.records)
    caplog.clear()
    other = importlib.metadata.EntryPoint("extra", "some_pkg.noises", GROUP)
    with caplog.at_level(logging.DEBUG, logger="audiostress.plugins"):
        points = discover([other, BUILTIN, BUILTIN])
    assert [ep.name for ep in points] == ["builtins", "extra"]
    assert not caplog.records


def test_a_fake_distribution_registers_a_corruption_through_the_group(tmp_path):
    write_dist(tmp_path, "fake-plugin", {"half_gain": "fake_plugin_mod:load"})
    (tmp_path / "fake_plugin_mod.py").write_text(PLUGIN_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "plugin_half_gain" in out["names"]
    assert set(available()) <= set(out["names"])  # every built-in still there
    assert out["calls"] == 1  # loaded once, however often the registry is asked
    assert out["y"] == [0.5, 0.5, 0.5, 0.5]


def test_a_broken_plugin_raises_naming_the_entry_point_and_its_distribution(tmp_path):
    write_dist(tmp_path, "broken-plugin", {"bad": "no_such_module_for_audiostress:load"}, version="2.3")
    (ep,) = [ep for dist in importlib.metadata.distributions(path=[str(tmp_path)]) for ep in dist.entry_points]
    with pytest.raises(PluginError, match=r"plugin 'bad' \(no_such_module_for_audiostress:load\) from broken-plugin 2\.3 failed") as info:
        load_entry_point(ep)
    assert "ModuleNotFoundError" in str(info.value) and "uninstall" in str(info.value)


def test_an_entry_point_naming_a_class_is_refused():
    ep = importlib.metadata.EntryPoint("cls", "audiostress.corruptions.base:Clean", GROUP)
    with pytest.raises(PluginError, match=r"'cls' .* from an unknown distribution .* not a class"):
        load_entry_point(ep)

