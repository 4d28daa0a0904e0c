"""Leadflow's benchmark harness: `python -m bench --list` names the scenarios."""
