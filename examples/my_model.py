"""A tiny AASIST-shaped detector factory: ``build(checkpoint=None, hidden=32)``.

Like AASIST it takes ``[B, 64600]`` raw 16 kHz audio and returns ``(hidden, logits)``
with **index 1 = bona fide** (higher = more real), so a card reads it with
``output: {kind: logits, fake_index: 0, select: 1}``. Untrained, it is only a
shape-compatible stand-in for a real checkpoint. Without a checkpoint the weights
are drawn from a fixed seed (a local generator; global RNG is untouched), so
scores are reproducible.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

SEED = 1234


class TinyAasist(nn.Module):
    """Strided conv front end -> conv block -> mean/max pooling -> 2 logits."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.front = nn.Conv1d(1, 16, kernel_size=129, stride=64, padding=64)
        self.block = nn.Conv1d(16, hidden, kernel_size=3, stride=2, padding=1)
        self.head = nn.Linear(2 * hidden, 2)

    def forward(self, audio: Tensor) -> tuple[Tensor, Tensor]:
        x = self.front(audio.unsqueeze(1))
        x = torch.log1p(x.abs())
        x = nn.functional.gelu(self.block(x))
        hidden = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)
        return hidden, self.head(hidden)


def build(checkpoint: str | None = None, hidden: int = 32) -> TinyAasist:
    """The model, with weights from ``checkpoint`` (a state dict) or from ``SEED``."""
    with torch.device("meta"):
        model = TinyAasist(hidden)
    model = model.to_empty(device="cpu")
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
        return model
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for param in model.parameters():
            fan_in = param[0].numel() if param.dim() > 1 else param.numel()
            param.copy_(torch.randn(param.shape, generator=gen) / fan_in**0.5)
    return model
