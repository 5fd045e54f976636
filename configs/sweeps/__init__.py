"""Sweep grids over the run configs."""
