"""avtar/GSAN text shaped like real logs (AVAMAR_FACTS.md), NOT the simulator's writer.

What real logs do that a tidy writer does not: runs APPENDED to one file with nothing between
them (no START banner, no ``<8474>`` line), records run together on one physical line, a first
timestamp cut (``9-12-31 07:35:23 avtar ...``), CRLF line ends and Windows paths, and the
Windows START banner with two spaces (``-----  START avtar log``).
"""

from __future__ import annotations

from typing import List, Optional

KB_FATAL = (
    "Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
    "(SECURETICKETLOGIN=452 serial={serial} seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL)"
)


def appended_run(
    when: str,
    host: Optional[str],
    fails: bool,
    serial: int = 1,
    account: Optional[str] = None,
    internal_noise: bool = True,
) -> List[str]:
    """One avtar run as appended to a shared avtar.log: it starts at 6555/5552, no banner, no 8474."""
    lines = [f"{when} avtar Info <6555>: Initializing connection"]
    if account:
        lines.append(
            f"{when} avtar Info <5551>: Command Line: /usr/local/avamar/bin/avtar.bin "
            f"--flagfile=/usr/local/avamar/etc/usersettings.cfg --account={account} --backup"
        )
    if host:
        lines.append(f"{when} avtar Info <5552>: Connecting to Avamar Server ({host})")
    lines.append(f"{when} avtar Info <5993>: - Connect: Connected to 10.20.0.5:29000, Priv=0, SSL Cipher=AES256-SHA")
    if internal_noise:
        lines.append(f"{when.replace('-', '/').replace(' ', '-')}.42089 [avtar]  <1291> FIPS mode enabled")
    lines.append(f"{when} avtar Info <5581>: Logging in on connection 0 with Session Ticket")
    if fails:
        lines += [
            f"{when} avtar Error <8609>: Connection killed from GSAN. (Log #1)",
            f"{when} avtar FATAL <5704>: {KB_FATAL.format(serial=serial)} (Log #1)",
            f"{when} avtar Error <5126>: Login error 5: Authorization failure (Session Ticket login) (Log #1)",
            f"{when} avtar FATAL <8941>: Fatal server connection problem, aborting initialization. Verify correct "
            "server address and login credentials. (Log #1)",
            f"{when} avtar Info <6149>: Error summary: 4 errors: 8941, 5704, 5126, 8609",
            f"{when} avtar Error <7001>: Exiting avtar with run-at-end script failure -1 (Log #1)",
        ]
    else:
        lines += [
            f"{when} avtar Info <5156>: Backup #212 timestamp {when}, 12,332 files, 3.1 GB",
            f"{when} avtar Info <5314>: Command completed (1 warning, exit code 0: success)",
        ]
    return [line + "\n" for line in lines]


def windows_run(
    client: str, when: str = "2024-03-04 01:00:05", host: str = "ava1.example.com", fails: bool = True, serial: int = 1
) -> bytes:
    """A Windows client's avtar log: two-space START banner, CRLF, a workorder-named log path."""
    lines = [
        f"-----  START avtar log {when} W. Europe Standard Time  [19.4.100-124 Windows Server 2019]",
        f"{when} avtar Info <8474>: - Log file path: "
        f"C:\\Program Files\\avs\\var\\clientlogs\\MOD-1709510402836#0-3006-Windows.log",
    ]
    lines += [
        line.rstrip("\n")
        for line in appended_run(when, host, fails, serial, account=f"/clients/{client}", internal_noise=False)
    ]
    lines.append(f"----- END avtar log {when} W. Europe Standard Time  (0 warnings, 4 errors, 2 fatal errors)")
    return "".join(line + "\r\n" for line in lines).encode("utf-8")


def lookalike_runs(when: str = "2026-01-05 03:00:00") -> List[str]:
    """Runs that are NOT auth failures though they mention 5704 or MSG_ERR_AUTH_FAIL."""
    warning = [
        f"{when} avtar Info <8474>: - Log file path: /usr/local/avamar/var/clientlogs/look1.log",
        f"{when} avtar Info <5552>: Connecting to Avamar Server (ava1.example.com)",
        f"{when} avtar Warning <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), retrying (Log #1)",
        f'{when} avtar Error <5137>: Unable to open file "C:\\pagefile.sys" (code 32: in use) (Log #1)',
        f"{when} avtar Info <5314>: Command failed (1 error, 1 warning, exit code 10007: miscellaneous error)",
    ]
    quoting = [
        f"{when} avtar Info <8474>: - Log file path: /usr/local/avamar/var/clientlogs/look2.log",
        f"{when} avtar Info <5552>: Connecting to Avamar Server (ava1.example.com)",
        f"{when} avtar Info <7342>: A previous run reported rsp=MSG_ERR_AUTH_FAIL; session renewed",
        f'{when} avtar Error <5137>: Unable to open file "/var/lib/mysql/ib_logfile0" (code 13) (Log #1)',
        f"{when} avtar Info <6149>: Error summary: 1 error: 5137",
        f"{when} avtar Info <5314>: Command failed (1 error, 0 warnings, exit code 10007: miscellaneous error)",
        f"----- END avtar log {when} UTC  (0 warnings, 1 error, 0 fatal errors)",
    ]
    return [line + "\n" for line in warning + quoting]


def run_together(lines: List[str]) -> List[str]:
    """The KB's paste: every record of a run on ONE physical line, the first timestamp cut."""
    joined = " ".join(line.rstrip("\r\n") for line in lines)
    return [joined[3:] + "\n"]  # "2026-..." -> "6-..." : the cut the KB shows


def gsan_warnings(when: str = "2026/01/05-03:00:01.12345", serial: int = 28451) -> List[str]:
    return [
        f"{when} {{0.0}} [srvm-518654#srv:481]  WARN: <1479> sessionkeytable::setpublickey new serial={serial} "
        f"less than current minserial=38000\n",
        f"{when} {{0.0}} [srvm-518654#srv:482]  WARN: <1418> sessionkeytable::setpublickey session ticket with "
        f"serial={serial} was used already\n",
    ]
