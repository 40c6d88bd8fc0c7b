"""Tests of the pure-Python mod_python modules that run without Apache (see fakes.py)."""
