"""Atoms: information measures as cvxpy expressions with their float64 values side by side
(:mod:`.information`), and one :class:`~.divergences.Divergence` object per perception
divergence (:mod:`.divergences`)."""

from .information import (
    channel_mutual_information,
    cross_entropy,
    cross_entropy_value,
    entropy,
    entropy_value,
    expected_distortion,
    kl_divergence,
    kl_value,
    mutual_information,
    mutual_information_value,
    neg_log_affine,
)

__all__ = ["channel_mutual_information", "cross_entropy", "cross_entropy_value", "entropy",
           "entropy_value", "expected_distortion", "kl_divergence", "kl_value",
           "mutual_information", "mutual_information_value", "neg_log_affine"]
