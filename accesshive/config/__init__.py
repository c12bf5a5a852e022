"""Load stage: a directory of YAML → a validated ``Config`` (see loader.py for the steps)."""

from accesshive.config.config import Config
from accesshive.config.loader import load_config, locate

__all__ = ["Config", "load_config", "locate"]
