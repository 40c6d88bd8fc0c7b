"""Runs before any test module: our mod_python package first on sys.path, fake _apache."""

from . import fakes

fakes.install()
