"""The warning text of ``--trust-checkpoint``, torch-free so the CLI can build its help without loading torch."""

TRUST_CHECKPOINT_HELP = (
    "Allow checkpoints that are full Python pickles (torch.load with weights_only=False). "
    "Unpickling can execute arbitrary code hidden in the file, so only use this for "
    "checkpoints you made yourself or fully trust. Without it, only plain state dicts "
    "(tensors, numbers, strings, containers) are loaded."
)
