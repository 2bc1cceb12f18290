"""Lossy and neural codecs as registered corruptions (auto-imported by ``load_builtins``)."""
