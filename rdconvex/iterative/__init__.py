"""The iterative core (numpy, log-safe): Blahut–Arimoto and Sinkhorn.

Pure algorithms on arrays; their solver adapters live in :mod:`rdconvex.solvers`.
"""
