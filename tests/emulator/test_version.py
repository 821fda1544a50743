"""infra.local.moto refuses to patch a moto it was not compared against."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from infra.local import moto as emulator

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_moto_is_the_tested_one() -> None:
    assert version("moto") == emulator.TESTED_MOTO
    emulator.check_version()


@pytest.mark.parametrize("other", ["5.2.4", "5.3.0", "6.0.0"])
def test_any_other_moto_is_refused_naming_both_versions(other: str) -> None:
    with pytest.raises(emulator.UntestedMotoError, match=f"moto {other} is installed.*moto {emulator.TESTED_MOTO} only"):
        emulator.check_version(other)


def test_the_pin_and_the_guard_agree() -> None:
    with open(ROOT / "requirements-dev.txt", encoding="utf-8") as handle:
        assert f"=={emulator.TESTED_MOTO}" in next(line for line in handle if line.startswith("moto["))
