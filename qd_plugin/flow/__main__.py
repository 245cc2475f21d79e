"""``python -m qd_plugin.flow``: the compress-and-evaluate flow."""
from .cli import main

main()
