"""Numerical parity of a deployed model with its PyTorch original."""
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

#: Largest reference margin (on the parity scale) at which a top-1 flip is
#: ever excused as a near tie, whatever tolerance is asked for: on log
#: probabilities, top-1 and the flipped-to class within a factor e**0.5.
MAX_TIE_MARGIN = 0.5


class ParityError(RuntimeError):
    """A deployed model's outputs differ from PyTorch's beyond tolerance."""


@dataclass
class Parity:
    """How close a runtime's outputs are to PyTorch's.

    ``max_abs_diff`` is measured on ``scale``: ``'log_prob'`` when the
    recognizer outputs averaged probabilities (``average_clips='prob'``), i.e.
    on logits up to each sample's log-sum-exp, which a near-uniform softmax
    cannot hide; ``'score'`` otherwise.

    ``near_tie_flips`` counts the samples whose top-1 differs only as noise
    within ``tie_atol`` (on the same scale) can make it differ, see
    :func:`near_tie_flips`; measured only when ``tie_atol`` is given.
    """

    runtime: str
    max_abs_diff: float
    max_abs_prob_diff: float
    top1_agreement: float
    num_samples: int
    scale: str
    atol: float
    reference: str = 'PyTorch'
    near_tie_flips: int = 0
    tie_atol: Optional[float] = None

    @property
    def ok(self) -> bool:
        return bool(self.max_abs_diff <= self.atol)

    @property
    def tie_aware_agreement(self) -> float:
        """Top-1 agreement, near-tie flips counted as agreement."""
        return self.top1_agreement + self.near_tie_flips / max(
            self.num_samples, 1)

    def __str__(self) -> str:
        return (f'{self.runtime} vs {self.reference} on {self.num_samples} '
                f'real samples: max abs diff {self.max_abs_diff:.3g} '
                f'({self.scale}), tolerance {self.atol:g}; top-1 agreement '
                f'{self.top1_agreement:.0%}')

    def describe_agreement(self) -> str:
        """One line on the (tie-aware) top-1 agreement."""
        text = (f'{self.runtime} vs {self.reference} on {self.num_samples} '
                f'real samples: top-1 agreement {self.top1_agreement:.0%}')
        if self.tie_atol is not None:
            text += (f', {self.near_tie_flips} near-tie flip(s) (reference '
                     f'margin <= {tie_margin(self.tie_atol):.3g}, all scores '
                     f'within {self.tie_atol:g}, {self.scale}) -> tie-aware '
                     f'agreement {self.tie_aware_agreement:.0%}')
        return (f'{text}; max abs diff {self.max_abs_diff:.3g} ({self.scale}'
                f'), {self.max_abs_prob_diff:.3g} (score)')

    def to_dict(self) -> dict:
        return dict(
            asdict(self),
            ok=self.ok,
            tie_aware_agreement=self.tie_aware_agreement)


# Probabilities below this carry no information in float32 log space.
_PROB_FLOOR = 1e-7


def tie_margin(atol: float) -> float:
    """The largest reference margin a top-1 flip is excused at: two scores,
    each off by up to ``atol``, swap their order only if they were within
    ``2 * atol``; never above :data:`MAX_TIE_MARGIN`."""
    return min(2 * atol, MAX_TIE_MARGIN)


def near_tie_flips(reference: np.ndarray, candidate: np.ndarray,
                   atol: float) -> np.ndarray:
    """Which samples' top-1 flips noise within ``atol`` explains.

    A sample's flip (the candidate's top-1 ``c`` is not the reference's
    top-1 ``r``) is a near tie if the reference scores ``c`` within
    :func:`tie_margin` of ``r`` (for a flip to the runner-up: the top-1/top-2
    margin) and no score of the sample differs by more than ``atol``. A
    wrong model (e.g. corrupted weights) flips samples whose reference is
    confident, or moves the scores by more than the noise.

    Args:
        reference (np.ndarray): Scores (N, num_classes), e.g. log
            probabilities.
        candidate (np.ndarray): Scores of the runtime checked, same scale.
        atol (float): Largest score difference counted as noise, e.g. of
            two int8 runtimes rounding differently.

    Returns:
        np.ndarray: (N,) bool, True for the near-tie flips.
    """
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    rows = np.arange(reference.shape[0])
    top, picked = reference.argmax(-1), candidate.argmax(-1)
    margin = reference[rows, top] - reference[rows, picked]
    noise = np.abs(reference - candidate).max(-1)
    return (top != picked) & (margin <= tie_margin(atol)) & (noise <= atol)


def compare(runtime: str,
            reference: np.ndarray,
            candidate: np.ndarray,
            atol: float,
            probabilities: bool,
            reference_name: str = 'PyTorch',
            tie_atol: Optional[float] = None) -> Parity:
    """Compare class scores (N, num_classes) of a runtime with PyTorch's;
    with ``tie_atol``, count :func:`near_tie_flips` too (on the same scale:
    log probabilities if ``probabilities``)."""
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
        reference = np.log(np.clip(reference, _PROB_FLOOR, None))
        candidate = np.log(np.clip(candidate, _PROB_FLOOR, None))
    diff = float(np.abs(reference - candidate).max())
    agreement = float(
        (reference.argmax(-1) == candidate.argmax(-1)).mean())
    flips = 0 if tie_atol is None else int(
        near_tie_flips(reference, candidate, tie_atol).sum())
    return Parity(runtime, diff, prob_diff, agreement, reference.shape[0],
                  'log_prob' if probabilities else 'score', atol,
                  reference_name, flips, tie_atol)


def check_parity(runtime: str, reference: np.ndarray, candidate: np.ndarray,
                 atol: float, probabilities: bool) -> Parity:
    """:func:`compare`, raising :class:`ParityError` above ``atol``."""
    parity = compare(runtime, reference, candidate, atol, probabilities)
    if not parity.ok:
        raise ParityError(f'parity check FAILED: {parity}')
    return parity


def check_agreement(runtime: str,
                    reference: np.ndarray,
                    candidate: np.ndarray,
                    min_agreement: float,
                    atol: float,
                    probabilities: bool,
                    reference_name: str = 'PyTorch') -> Parity:
    """Tie-aware top-1 agreement of class scores with a reference.

    The criterion for runtimes that cannot match the reference exactly (int8
    kernels round differently): at least ``min_agreement`` of the samples
    must have the reference's top-1 or a :func:`near_tie_flips` within
    ``atol`` (on log probabilities if ``probabilities``).

    Raises:
        ParityError: below ``min_agreement``; the message gives the plain
            and the tie-aware agreement and the max abs diff.
    """
    parity = compare(runtime, reference, candidate, float('inf'),
                     probabilities, reference_name, tie_atol=atol)
    if parity.tie_aware_agreement < min_agreement - 1e-9:
        raise ParityError(
            f'parity check FAILED: {parity.describe_agreement()} (minimum '
            f'{min_agreement:.0%})')
    return parity
