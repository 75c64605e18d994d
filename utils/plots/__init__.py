"""Figures only: each function draws what another module computed and returns the figure."""
