"""The avtar client-log text of one failing backup run, as the tests write it to log files.

The KB's MSG_ERR_AUTH_FAIL sequence, one record per line; shared by the sensor and the
reliability tests so both exercise the same shape.
"""

from __future__ import annotations

from typing import List, Optional


def failing_run(
    client: str,
    host: str = "avamar.com",
    when: str = "2026-01-05 03:00:00",
    end_banner: bool = True,
    serial: int = 1,
    log_path: Optional[str] = None,
) -> List[str]:
    """One avtar run that fails with 5704, one record per line (what avtar writes)."""
    log_path = log_path or f"/usr/local/avamar/var/clientlogs/{client}.log"
    lines = [
        f"{when} avtar Info <8474>: - Log file path: {log_path}",
        f"{when} avtar Info <6555>: Initializing connection",
        f"{when} avtar Info <5552>: Connecting to Avamar Server ({host})",
        f"{when} avtar Info <5993>: - Connect: Connected to 10.0.0.5:29000, Priv=0, SSL Cipher=AES256-SHA",
        f"{when} avtar Info <5581>: Logging in on connection 0 with Session Ticket",
        f"{when} avtar Info <18854>: Using Secure Session Ticket Format",
        f"{when} avtar Error <8609>: Connection killed from GSAN. (Log #1)",
        f"{when} avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
        f"(SECURETICKETLOGIN=452 serial={serial} seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL) (Log #1)",
        f"{when} avtar Error <5126>: Login error 5: Authorization failure (Session Ticket login) (Log #1)",
        f"{when} avtar FATAL <8941>: Fatal server connection problem, aborting initialization. Verify correct "
        f"server address and login credentials. (Log #1)",
        f"{when} avtar Info <6149>: Error summary: 4 errors: 8941, 5704, 5126, 8609",
        f"{when} avtar Error <7001>: Exiting avtar with run-at-end script failure -1 (Log #1)",
        f"{when} avtar Info <5314>: Command failed (5 errors, 0 warnings, exit code 10007: miscellaneous error)",
    ]
    if end_banner:
        lines.append(f"----- END avtar log {when} UTC  (0 warnings, 4 errors, 2 fatal errors)")
    return [line + "\n" for line in lines]
