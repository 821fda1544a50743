"""moto as this project runs it: stock moto with the patches of this package, in the emulator and in the tests alike.

`apply()` installs every patch once, after `check_version()` has made sure
that the installed moto is the release they were written and compared
against. Several patches replace a moto method with code of their own, so
they are only right for the moto they were checked on: a different moto
is refused (raise `TESTED_MOTO` only once `tests/emulator/` passes on it).

* `patches` — behaviour: TransactWriteItems' rollback snapshots only the
  items a transaction touches (moto copies whole tables: a 1,000-receiver
  send took ~94 s), and DynamoDB's ``ClientRequestToken`` rule, which moto
  ignores;
* `speedups` — CPU only (semantics unchanged): parsed expressions kept,
  wire-form answers and requests taken as JSON, the module list cached;
* `updates` — plain ``SET``/``ADD`` updates applied directly (installed by
  `speedups`);
* `partitions` — a Query reads its partition, not the whole table sorted
  (installed by `speedups`);
* `server` — moto's server in a process of its own, the emulator of
  ``make run``, with all of the above.

Each patch has a test that runs the same calls on stock moto and patched
moto and compares every answer (``tests/emulator/``).
"""

from __future__ import annotations

from importlib.metadata import version

TESTED_MOTO = "5.2.5"


class UntestedMotoError(RuntimeError):
    """The installed moto is not the release the patches were compared against."""


def check_version(installed: str | None = None) -> None:
    """Refuse to patch any moto but `TESTED_MOTO`."""
    installed = installed or version("moto")
    if installed != TESTED_MOTO:
        raise UntestedMotoError(
            f"moto {installed} is installed, but infra/local/moto patches moto {TESTED_MOTO} only: "
            f"install moto=={TESTED_MOTO} (requirements-dev.txt), or run tests/emulator/ on {installed} and raise TESTED_MOTO"
        )


def apply() -> None:
    """Check the version, then install every patch (idempotent)."""
    check_version()
    from infra.local.moto import patches, speedups

    patches.apply()
    speedups.apply()
