"""Numerical parity of a deployed model with its PyTorch original."""
from dataclasses import asdict, dataclass

import numpy as np


class ParityError(RuntimeError):
    """A deployed model's outputs differ from PyTorch's beyond tolerance."""


@dataclass
class Parity:
    """How close a runtime's outputs are to PyTorch's.

    ``max_abs_diff`` is measured on ``scale``: ``'log_prob'`` when the
    recognizer outputs averaged probabilities (``average_clips='prob'``), i.e.
    on logits up to each sample's log-sum-exp, which a near-uniform softmax
    cannot hide; ``'score'`` otherwise.
    """

    runtime: str
    max_abs_diff: float
    max_abs_prob_diff: float
    top1_agreement: float
    num_samples: int
    scale: str
    atol: float
    reference: str = 'PyTorch'

    @property
    def ok(self) -> bool:
        return bool(self.max_abs_diff <= self.atol)

    def __str__(self) -> str:
        return (f'{self.runtime} vs {self.reference} on {self.num_samples} '
                f'real samples: max abs diff {self.max_abs_diff:.3g} '
                f'({self.scale}), tolerance {self.atol:g}; top-1 agreement '
                f'{self.top1_agreement:.0%}')

    def to_dict(self) -> dict:
        return dict(asdict(self), ok=self.ok)


# Probabilities below this carry no information in float32 log space.
_PROB_FLOOR = 1e-7


def compare(runtime: str,
            reference: np.ndarray,
            candidate: np.ndarray,
            atol: float,
            probabilities: bool,
            reference_name: str = 'PyTorch') -> Parity:
    """Compare class scores (N, num_classes) of a runtime with PyTorch's."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        raise ParityError(
            f'{runtime} output shape {candidate.shape} != {reference_name} '
            f'output shape {reference.shape}')
    if not np.isfinite(candidate).all():
        raise ParityError(f'{runtime} output has NaN/inf values')
    prob_diff = float(np.abs(reference - candidate).max())
    if probabilities:
        diff = float(
            np.abs(
                np.log(np.clip(reference, _PROB_FLOOR, None)) -
                np.log(np.clip(candidate, _PROB_FLOOR, None))).max())
    else:
        diff = prob_diff
    agreement = float(
        (reference.argmax(-1) == candidate.argmax(-1)).mean())
    return Parity(runtime, diff, prob_diff, agreement, reference.shape[0],
                  'log_prob' if probabilities else 'score', atol,
                  reference_name)


def check_parity(runtime: str, reference: np.ndarray, candidate: np.ndarray,
                 atol: float, probabilities: bool) -> Parity:
    """:func:`compare`, raising :class:`ParityError` above ``atol``."""
    parity = compare(runtime, reference, candidate, atol, probabilities)
    if not parity.ok:
        raise ParityError(f'parity check FAILED: {parity}')
    return parity
