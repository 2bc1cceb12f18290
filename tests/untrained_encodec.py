"""The real EnCodec architecture with untrained, deterministic weights for the tests.

Kept in its own uniquely named module (not conftest) so test files can import it
without picking up another folder's conftest.
"""

from __future__ import annotations

import torch

#: Untrained EnCodec with PyTorch's default init shrinks the signal layer after layer until
#: the output no longer depends on the input (measured: 1e-5 difference between clips).
#: Scaling every weight-norm gain by 1.5 and zeroing biases keeps it input-dependent
#: (0.02 difference at 0.03 peak) without blowing up (2.0 gives peaks of 3, 3.0 of 1500).
UNTRAINED_ENCODEC_GAIN = 1.5


def build_untrained_encodec(model_rate: int, seed: int = 0):
    """The real EnCodec architecture with UNTRAINED weights, deterministic from ``seed``.

    Default random init with weight-norm gains scaled by ``UNTRAINED_ENCODEC_GAIN`` and
    zero biases; codebooks drawn around the statistics of the encoder's output on a
    seeded noise probe, the residual scale halving per stage (the package's own
    untrained codebooks are all zero: every code would be 0 and the output constant).
    The global RNG is left as it was.
    """
    import warnings

    from encodec import EncodecModel

    factory = EncodecModel.encodec_model_24khz if model_rate == 24000 else EncodecModel.encodec_model_48khz
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.manual_seed(seed)
        model = factory(pretrained=False).eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("weight_g"):
                param.mul_(UNTRAINED_ENCODEC_GAIN)
            elif name.endswith("bias"):
                param.zero_()
        level = 1.0 if model.normalize else 0.1  # the 48 kHz model sees RMS-normalised input
        probe = torch.randn(1, model.channels, model.sample_rate // 2, generator=gen) * level
        emb = model.encoder(probe)
        mean, std = emb.mean(dim=(0, 2)), emb.std(dim=(0, 2))
        for k, layer in enumerate(model.quantizer.vq.layers):
            book = layer._codebook
            centre = mean if k == 0 else torch.zeros_like(mean)
            book.embed.copy_(centre + torch.randn(book.embed.shape, generator=gen) * std * 0.5**k)
            book.embed_avg.copy_(book.embed)
            book.inited.fill_(1.0)
    return model


