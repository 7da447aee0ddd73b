"""Entry point for ``python -m backproof``."""

from backproof.cli.main import main

if __name__ == "__main__":
    main()
