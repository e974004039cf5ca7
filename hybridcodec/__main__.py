"""``python -m hybridcodec`` runs the command line."""

from .cli import main

main()
