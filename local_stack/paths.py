"""Where the repository's folders are, for the tools that read them from a checkout."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
