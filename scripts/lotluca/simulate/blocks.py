"""Blocks of the synthetic cohort: how the cohort is cut into fixed-size blocks of persons, each with its
own random streams and its own identifier ranges, and which shard simulates which block.

The cohort is a sequence of blocks of `simulate.block_size` ODH patients (the last one smaller), each
with round(patients x decoy_ratio) decoys. A block is drawn from random streams that depend only on the
master seed and the block number, and its row identifiers (RSA_NUM, DCT_ORD_NUM, ODH administration,
stay and prescription ids) live in a range of their own, so a block's rows are the same whichever job
simulates it: the cohort does not depend on the number of shards. Block b belongs to shard b mod N.

Identifier ranges of block b (capacity is checked; a block that would overflow them is an error
telling to lower block_size):
  - person index (truth person id P<9 digits>, ODH patient number): b x (block_size + block decoys) + i;
  - RSA_NUM and ODH row ids (A/S/P<digits>): b x ROW_STRIDE + 1 ...;
  - DCT_ORD_NUM: b x DCT_STRIDE + 1 ...
Random streams: numpy SeedSequence(seed, spawn_key=(b + 1,)).spawn(10) for block b; the cohort-wide
draws (hospital FINESS, the ODH id bijection) use SeedSequence(seed, spawn_key=(0,)).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lotluca.errors import LotlucaError
from lotluca.simulate.params import SimSettings

ROW_STRIDE = 10**7
DCT_STRIDE = 10**9
STREAMS = 10  # random streams per block (see lotluca.simulate.simulate_block)


@dataclass(frozen=True)
class Block:
    """One block of persons: its number, its patients and decoys, and where its identifiers start."""

    index: int
    patients: int
    decoys: int
    first_person: int  # person index of its first person (patients first, then decoys)

    @property
    def row_base(self) -> int:
        """RSA_NUM and ODH row ids of this block are row_base + 1, row_base + 2, ..."""
        return self.index * ROW_STRIDE

    @property
    def dct_base(self) -> int:
        """DCT_ORD_NUM of this block are dct_base + 1, dct_base + 2, ..."""
        return self.index * DCT_STRIDE

    def settings(self, s: SimSettings) -> SimSettings:
        """The settings of this block: the cohort's, with its own number of patients."""
        return dataclasses.replace(s, patients=self.patients)


def n_decoys(patients: int, s: SimSettings) -> int:
    return int(round(patients * s.decoy_ratio))


def cohort_blocks(s: SimSettings) -> list[Block]:
    """Every block of the cohort, in order."""
    size = s.block_size
    stride = size + n_decoys(size, s)
    out = []
    for b, first in enumerate(range(0, s.patients, size)):
        k = min(size, s.patients - first)
        out.append(Block(index=b, patients=k, decoys=n_decoys(k, s), first_person=b * stride))
    return out


def shard_blocks(s: SimSettings, shard: int, n_shards: int) -> list[Block]:
    """The blocks simulated by shard `shard` of `n_shards` (block b -> shard b mod N); may be empty."""
    if not isinstance(n_shards, int | np.integer) or n_shards < 1:
        raise LotlucaError(f"number of shards must be an integer >= 1, got {n_shards!r}")
    if not 0 <= shard < n_shards:
        raise LotlucaError(f"shard must be in 0..{n_shards - 1}, got {shard!r}")
    return [b for b in cohort_blocks(s) if b.index % n_shards == shard]


def block_streams(seed: int, block: Block) -> list[np.random.Generator]:
    """The block's random generators (depend on the master seed and the block number only)."""
    seq = np.random.SeedSequence(int(seed), spawn_key=(block.index + 1,))
    return [np.random.default_rng(x) for x in seq.spawn(STREAMS)]


def cohort_stream(seed: int) -> np.random.Generator:
    """The generator of the cohort-wide draws (shared by every block)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0,)))


def check_capacity(count: int, stride: int, what: str) -> None:
    """A block's `count` rows of `what` must fit in its identifier range."""
    if count >= stride:
        raise LotlucaError(
            f"simulate: a block has {count} {what}, more than its identifier range ({stride - 1}); "
            "lower simulate.block_size (config/simulate.yaml)"
        )
