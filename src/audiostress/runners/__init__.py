"""Runners: grids, plans, the sweep, its store and the CPU worker pool."""
