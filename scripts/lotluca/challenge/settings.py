"""The `challenge` config block as a frozen settings dataclass (the challenge kit, docs/challenge.md)."""

from __future__ import annotations

from dataclasses import dataclass

from lotluca.config import Settings

SPLITS = ("train", "public_test", "private_test")


@dataclass(frozen=True)
class ChallengeSettings(Settings):
    """Config block `challenge` (defaults and descriptions in the config schema)."""

    enabled: bool  # build the kit in the default study
    train_share: float  # share of the challenge persons whose gold lines are given to participants
    public_share: float  # share scored on the public leaderboard during the challenge
    private_share: float  # share scored at the end (private leaderboard)
    date_shift_days: int  # per-person date shift drawn in [-date_shift_days, +date_shift_days]
    rare_min_persons: int  # a categorical value seen in fewer persons is coarsened
    baseline: str  # rule preset making the starting kit's baseline submission
    bootstrap: int  # patient-bootstrap replicates of the CIs written by the scoring program
    reidentification_max: float  # the step fails when the exact-date attack re-identifies a larger share
    title: str  # competition title
    public_start: str  # start of the public phase (YYYY-MM-DD HH:MM:SS, UTC)
    private_start: str  # start of the private (final) phase
    private_end: str  # end of the private phase
    max_submissions_per_day: int  # per participant, each phase
    docker_image: str  # scoring image on the platform ("" : the platform's default)

    def __post_init__(self):
        total = self.train_share + self.public_share + self.private_share
        if abs(total - 1.0) > 1e-9 or min(self.train_share, self.public_share, self.private_share) <= 0:
            raise ValueError(f"challenge shares must be > 0 and sum to 1, got {total}")
        if self.date_shift_days < 8:
            raise ValueError("challenge.date_shift_days must be >= 8 (shifts avoid multiples of 7 days)")

    @property
    def shares(self) -> dict[str, float]:
        return dict(zip(SPLITS, (self.train_share, self.public_share, self.private_share), strict=True))
