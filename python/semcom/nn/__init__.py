"""Model definitions (torch). Nothing here trains or loads files."""
