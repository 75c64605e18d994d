"""Shared, tested helpers for the Dogs vs. Cats CNN course.

Each module names the notebook that introduces it. Notebooks explain, call and show;
the logic lives here so that tests can check it.
"""
