"""Validation equals the sweep: the dataset's audio for cell mp3@3 is the audio the sweep scored for that pair."""

from __future__ import annotations

import numpy as np
import torch
from augment_data import SR

import audiostress
from audiostress.audio import save
from audiostress.augment import AugmentedDataset, cell_id_of
from audiostress.corruptions import create
from audiostress.data import load_dataset
from audiostress.synth import speech_like

DETECTOR = '''
import torch

class Energy(torch.nn.Module):
    def forward(self, audio):
        return audio.abs().mean(dim=-1) * 10.0

def build():
    return Energy()
'''


def test_validation_dataset_equals_the_sweeps_pair_audio(tmp_path):
    data = tmp_path / "data"
    for i in range(3):
        save(data / "bonafide" / f"b{i}.wav", speech_like(0.5, SR, seed=i), SR, subtype="FLOAT")
        save(data / "spoof" / f"s{i}.wav", speech_like(0.5, SR, seed=50 + i), SR, subtype="FLOAT")
    (tmp_path / "det.py").write_text(DETECTOR)
    (tmp_path / "grid.yaml").write_text("cells:\n  - {corruption: mp3, severity: 3}\n  - {corruption: gaussian_noise, severity: 2}\n")
    seed = 11
    result = audiostress.sweep(f"{tmp_path / 'det.py'}:build", str(data), str(tmp_path / "grid.yaml"), out=tmp_path / "run",
                               seed=seed, input={"sample_rate": SR}, output={"kind": "score", "higher_is_fake": True})
    dataset = load_dataset(str(data))
    for name, cell in (("mp3", "mp3@3"), ("gaussian_noise", "gaussian_noise@2")):
        node = create(name, severity=int(cell[-1]))
        assert cell_id_of(node) == cell
        val = AugmentedDataset(dataset, node, seed=seed, sample_rate=SR, validation=True)
        for i, clip in enumerate(dataset.clips):
            replayed, rate = result.replay(clip.clip_id, cell)
            mine = val[i]["audio"].numpy()
            assert rate == SR and mine.shape == replayed.shape
            # Codecs run alone in the sweep (bit-identical); device cells ran in a padded group batch.
            if name == "mp3":
                assert np.array_equal(mine, replayed), clip.clip_id
            else:
                assert np.allclose(mine, replayed, atol=1e-5), clip.clip_id
    scores = result.to_pandas().set_index(["clip_id", "cell_id"])["raw_score"]
    val = AugmentedDataset(dataset, create("mp3", severity=3), seed=seed, sample_rate=SR, validation=True)
    for i, clip in enumerate(dataset.clips):
        expected = float(val[i]["audio"].abs().mean()) * 10.0
        assert abs(scores[(clip.clip_id, "mp3@3")] - expected) < 1e-5
    assert torch.is_tensor(val[0]["audio"])
