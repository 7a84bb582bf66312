"""The iterative core (numpy, log space): Blahut–Arimoto and Sinkhorn."""
