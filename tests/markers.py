"""Finding a test's own source lines by a trailing ``# MARKER`` comment."""


def marker_line(path, marker):
    """The absolute line number of the line in ``path`` that ends with ``# <marker>``."""
    with open(path) as handle:
        for number, text in enumerate(handle, start=1):
            if text.rstrip().endswith(f"# {marker}"):
                return number
    raise AssertionError(marker)
