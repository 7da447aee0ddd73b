"""What the user verify imports as may reach beyond its scratch database (issue 9 items 2, 10).

A dump is data from the source; even an authentic one can hold anything its database could
(a compromised application writes its own dump). The import should run as a user that owns
the scratch database and nothing else. These checks read the user's privileges and say what
is too much; they never change them (``backproof setup verify-user --print`` prints the SQL).
Whether the user may keep a verify out of the server's binary log is learnt by turning it off
for a session of its own, which ends at once: nothing else sees it.
"""

from __future__ import annotations

from backproof.doctor.checks import DoctorCheck, failed, ok, warning
from backproof.sources.base import ScratchServer

NAME = "verify user"
ADVICE = (
    "a dump could reach beyond its scratch database; set verify.url to a least-privilege user "
    "(`backproof setup verify-user --print` prints the SQL)"
)


def check_verify_privileges(
    server: ScratchServer, *, used_by_default: bool, name: str = NAME
) -> DoctorCheck:
    """Return the verdict, as the check ``name``, on the user verify imports as on ``server``."""
    problems = server.verify_user_problems()
    if problems is None:
        return ok(name, "verify restores into files of this host: no server user can be abused")
    if problems and problems[0].startswith("cannot"):
        return failed(name, problems[0])
    where = "the target's own user (verify.url is not set)" if used_by_default else "verify.url"
    if problems:
        return warning(name, f"verify imports as {where}, which {'; '.join(problems)}: {ADVICE}")
    return ok(name, f"verify imports as {where}, limited to its scratch databases")


def check_verify_server(server: ScratchServer, name: str) -> list[DoctorCheck]:
    """Return a warning, as the check ``name``, for each thing a verify on ``server`` would
    warn of (MySQL/MariaDB: its scratch databases written into the binary log; PostgreSQL:
    into the WAL its standbys replay and its archive stores)."""
    return [warning(name, problem) for problem in server.verify_warnings()]
