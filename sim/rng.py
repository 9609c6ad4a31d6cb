"""Keyed, counter-based random streams.

Every random number in pbrsim is a pure function of a key::

    (root_seed, replicate, stream name, claimant id, occurrence)

There is no generator state to advance, so a draw never depends on how many
other draws happened before it, in which process, or on which worker. This is
what makes serial and parallel runs bit-identical and gives common random
numbers across scenarios: replicate ``r`` of every scenario sees the same draw
for claimant ``i``'s ``k``-th job-entry clock.

The mixing function is SplitMix64's finaliser (Steele, Lea & Flood 2014),
applied twice. It is implemented three times, all bit-identical (tested): on
Python ints for scalar draws in the event loop, on native 64-bit integers for the
same draws when this module is compiled with mypyc (``setup.py``; big-int
arithmetic was a tenth of the compiled engine's time), and on numpy ``uint64``
arrays for vectorised draws when a population is built.

Stream names are the config paths they drive, e.g. ``"employment.entry"`` or
``"interviews.attendance"``; a name is turned into 64 bits with BLAKE2b, which
is stable across processes and Python versions (unlike ``hash``).
"""

from __future__ import annotations

import hashlib
import types
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from mypy_extensions import i64  # int at run time; a native 64-bit integer when compiled

from sim.fmath import neg_log1m, neg_log1m_array, norm_ppf_array

__all__ = ["Streams", "exponential_from_base", "signed64", "stream_hash", "uniform_from_base"]

_MASK = 0xFFFFFFFFFFFFFFFF
_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_OCC = 0xD1B54A32D192ED03
_TWO_M53 = 2.0**-53

# the same constants as signed 64-bit integers (two's complement), for native arithmetic
_GOLDEN_S: Final[i64] = -7046029254386353131
_M1_S: Final[i64] = -4658895280553007687
_M2_S: Final[i64] = -7723592293110705685
_OCC_S: Final[i64] = -3335678366873096957


def _is_compiled() -> bool:
    """True when this module runs compiled by mypyc (its functions are then builtins)."""
    return not isinstance(_is_compiled, types.FunctionType)


COMPILED: Final = _is_compiled()
"""Whether the scalar draws use native 64-bit arithmetic (this module compiled by mypyc)."""


def signed64(key: int) -> int:
    """Return an unsigned 64-bit key as the signed integer with the same bits.

    The event loop's draws take their stream base in this form, which native 64-bit
    arithmetic can hold; the Python-int draws give the same value for either form.
    """
    return key - (1 << 64) if key >= (1 << 63) else key


FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def stream_hash(name: str) -> int:
    """Return a stable 64-bit hash of a stream name.

    Parameters
    ----------
    name : str
        The stream's name, by convention the config path it drives.

    Returns
    -------
    int
        An unsigned 64-bit integer, the same in every process and version.

    Raises
    ------
    ValueError
        If ``name`` is empty.
    """
    if not name:
        raise ValueError("stream name must be a non-empty string")
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def _mix_array(z: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@dataclass(frozen=True, slots=True)
class Streams:
    """Keyed random streams for one (root seed, replicate).

    Parameters
    ----------
    seed : int
        The root seed, ``0 <= seed < 2**63``.
    replicate : int
        The replicate number, ``0 <= replicate < 2**31``.

    Raises
    ------
    ValueError
        If ``seed`` or ``replicate`` is out of range.

    Examples
    --------
    >>> s = Streams(seed=1, replicate=0)
    >>> u = s.uniform("interviews.attendance", claimant=7, occurrence=0)
    >>> 0.0 <= u < 1.0
    True
    """

    seed: int
    replicate: int

    def __post_init__(self) -> None:
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed(={self.seed}) must be in [0, 2**63).")
        if not 0 <= self.replicate < 2**31:
            raise ValueError(f"replicate(={self.replicate}) must be in [0, 2**31).")

    def base(self, stream: str) -> int:
        """Return the 64-bit base key of ``stream`` for this seed and replicate."""
        z = _mix((self.seed * _GOLDEN) & _MASK)
        z = _mix((z ^ (self.replicate * _M2)) & _MASK)
        return _mix(z ^ stream_hash(stream))

    def uniform(self, stream: str, claimant: int, occurrence: int = 0) -> float:
        """Return one uniform draw in ``[0, 1)``; see :meth:`uniform_from_base`."""
        return uniform_from_base(self.base(stream), claimant, occurrence)

    def uniforms(
        self, stream: str, claimants: npt.ArrayLike, occurrence: int | npt.ArrayLike = 0
    ) -> FloatArray:
        """Return uniform draws in ``[0, 1)`` for many claimants at once.

        Bit-identical to calling :meth:`uniform` for each element.

        Parameters
        ----------
        stream : str
            Stream name.
        claimants : array_like of int
            Claimant ids, non-negative.
        occurrence : int or array_like of int
            Occurrence numbers, broadcast against ``claimants``.

        Returns
        -------
        numpy.ndarray of float64
        """
        z = self._bits(stream, claimants, occurrence)
        return (z >> np.uint64(11)).astype(np.float64) * _TWO_M53

    def _bits(
        self, stream: str, claimants: npt.ArrayLike, occurrence: int | npt.ArrayLike
    ) -> npt.NDArray[np.uint64]:
        ids = np.asarray(claimants, dtype=np.int64).astype(np.uint64)
        occ = np.asarray(occurrence, dtype=np.int64).astype(np.uint64)
        with np.errstate(over="ignore"):
            z = np.uint64(self.base(stream)) + ids * np.uint64(_GOLDEN) + occ * np.uint64(_OCC)
            return _mix_array(_mix_array(z))

    def exponentials(
        self, stream: str, claimants: npt.ArrayLike, occurrence: int | npt.ArrayLike = 0
    ) -> FloatArray:
        """Return unit-exponential draws, ``-log(1 - U)``, for many claimants.

        Bit-identical to :func:`exponential_from_base` for each element, on every machine
        (the logarithm is :func:`sim.fmath.neg_log1m_array`, not numpy's or the C library's).
        """
        return neg_log1m_array(self.uniforms(stream, claimants, occurrence))

    def normals(
        self, stream: str, claimants: npt.ArrayLike, occurrence: int | npt.ArrayLike = 0
    ) -> FloatArray:
        """Return standard normal draws by inversion of one uniform each.

        The quantile function is :func:`sim.fmath.norm_ppf_array` (AS 241 on basic
        operations), so a draw is the same on every machine.
        """
        z = self._bits(stream, claimants, occurrence)
        # midpoints of 2**52 equal cells: strictly inside (0, 1), so ndtri is finite
        u = ((z >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52
        return norm_ppf_array(u)

    def choices(
        self,
        stream: str,
        claimants: npt.ArrayLike,
        p: npt.ArrayLike,
        occurrence: int | npt.ArrayLike = 0,
    ) -> IntArray:
        """Return category indices drawn with probabilities ``p`` by inversion.

        ``p`` may be one probability vector, or one row per claimant.
        """
        u = self.uniforms(stream, claimants, occurrence)
        cum = np.cumsum(np.asarray(p, dtype=np.float64), axis=-1)
        cum = cum / cum[..., -1:]
        if cum.ndim == 1:
            idx = np.searchsorted(cum, u, side="right")
        else:
            idx = (u[:, None] >= cum).sum(axis=1)
        return np.asarray(np.minimum(idx, cum.shape[-1] - 1), dtype=np.int64)


def uniform_from_base(base: int, claimant: int, occurrence: int) -> float:
    """Return the uniform draw for (stream base, claimant, occurrence).

    This is the scalar hot-path form: hoist ``signed64(Streams.base(name))`` out of
    the event loop once per run and call this per draw. Compiled, it runs on native
    64-bit integers and needs ``base`` in signed form (:func:`signed64`); otherwise
    it takes either form.
    """
    if COMPILED:
        return _uniform_native(base, claimant, occurrence)
    z = (base + claimant * _GOLDEN + occurrence * _OCC) & _MASK
    return (_mix(_mix(z)) >> 11) * _TWO_M53


def _mix_native(z: i64) -> i64:
    """:func:`_mix` on wrapping signed 64-bit integers (compiled only; needs ``-fwrapv``).

    A logical right shift of the unsigned value is an arithmetic shift with the
    copied sign bits masked off.
    """
    z = (z ^ ((z >> 30) & 0x3FFFFFFFF)) * _M1_S
    z = (z ^ ((z >> 27) & 0x1FFFFFFFFF)) * _M2_S
    return z ^ ((z >> 31) & 0x1FFFFFFFF)


def _uniform_native(base: i64, claimant: i64, occurrence: i64) -> float:
    """:func:`uniform_from_base` on native 64-bit integers (compiled only)."""
    z = _mix_native(_mix_native(base + claimant * _GOLDEN_S + occurrence * _OCC_S))
    return float((z >> 11) & 0x1FFFFFFFFFFFFF) * _TWO_M53


def exponential_from_base(base: int, claimant: int, occurrence: int) -> float:
    """Return the unit-exponential draw for (stream base, claimant, occurrence).

    The one implementation of ``-log(1 - U)`` (:func:`sim.fmath.neg_log1m`), so the value is
    the same compiled or not, on every machine, and equal to :meth:`Streams.exponentials`.
    """
    return neg_log1m(uniform_from_base(base, claimant, occurrence))
