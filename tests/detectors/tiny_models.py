"""Small real models used by the detector tests (loaded through `file.py:factory` specs)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

#: Size and seed of the saved tiny model the fixtures build.
HIDDEN = 8
SEED = 7


class TinyNet(nn.Module):
    """Conv front end + pooling -> 2 logits; works for any input length."""

    def __init__(self, hidden: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, hidden, kernel_size=65, stride=32, padding=32)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, audio: Tensor) -> Tensor:
        x = torch.tanh(self.conv(audio.unsqueeze(1)))
        return self.head(torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1))


def build_plain(hidden: int = 8) -> TinyNet:
    """No `checkpoint` parameter: audiostress loads the state dict into the module."""
    with torch.device("meta"):
        model = TinyNet(hidden)
    return model.to_empty(device="cpu")


def random_state(hidden: int, seed: int) -> dict[str, Tensor]:
    """A seeded state dict for TinyNet(hidden), drawn from a local generator."""
    gen = torch.Generator().manual_seed(seed)
    shapes = {k: v.shape for k, v in build_plain(hidden).state_dict().items()}
    return {k: torch.randn(s, generator=gen) * 0.3 for k, s in shapes.items()}


def reference(hidden: int, seed: int) -> TinyNet:
    """TinyNet with `random_state` loaded, in eval mode: the direct-forward reference."""
    model = build_plain(hidden)
    model.load_state_dict(random_state(hidden, seed))
    return model.eval()


def score_pickled_spec(payload: bytes, audio: Tensor, threads: int) -> tuple[bytes, bytes]:
    """Run in another process: unpickle a DetectorSpec, load it, score `audio` [N, T] at 16 kHz.

    Returns the raw bytes of raw_score and p_fake, for a bitwise comparison.
    """
    import pickle

    torch.set_num_threads(threads)  # this process only: match the parent's reduction order
    detector = pickle.loads(payload).load()
    scores = detector.score([clip.unsqueeze(0) for clip in audio], 16000, clip_ids=[str(i) for i in range(len(audio))])
    return scores.raw_score.numpy().tobytes(), scores.p_fake.numpy().tobytes()


def save_tiny_hf(folder: Any, id2label: dict[int, str]) -> tuple[Any, Any]:
    """Save a tiny wav2vec2 audio classifier and its feature extractor to ``folder`` (needs transformers)."""
    import transformers

    config = transformers.Wav2Vec2Config(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 8), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, classifier_proj_size=8, num_labels=len(id2label),
        id2label=id2label, label2id={v: k for k, v in id2label.items()},
    )  # fmt: skip
    with torch.random.fork_rng():  # the random init draws from global RNG; keep it local
        torch.manual_seed(0)
        model = transformers.Wav2Vec2ForSequenceClassification(config).eval()
    extractor = transformers.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True, return_attention_mask=False)
    model.save_pretrained(folder)
    extractor.save_pretrained(folder)
    return model, extractor
