"""The adversarial tier: certified bounds judged against independent mpmath references.

``reference`` computes the truth at 80 significant digits without importing rdconvex;
``test_explicit`` holds the issue's cases one by one, ``test_generated`` the hypothesis
families of ``strategies`` (a fixed sample by default, ``RDCONVEX_ADVERSARIAL=full`` for
the long run).
"""
