"""Program builders: each returns a :class:`~rdconvex.programs.base.Program`, unsolved."""

from .base import Program, Row

__all__ = ["Program", "Row"]
