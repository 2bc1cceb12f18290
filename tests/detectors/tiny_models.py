"""Small real models used by the detector tests (loaded through `file.py:factory` specs)."""

from __future__ import annotations

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
