"""Grid presets shipped with audiostress (YAML, read by ``audiostress.runners.grid.load_grid``)."""
