"""The package version, defined once (pyproject reads it too)."""

__version__ = "0.1.0"


def versions() -> dict:
    """Versions of rdconvex, Python and the numerical stack (those installed): the
    provenance every output carries."""
    import platform
    from importlib import metadata

    found = {"rdconvex": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "cvxpy", "clarabel", "scs", "ecos", "mosek",
                 "python-flint"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
