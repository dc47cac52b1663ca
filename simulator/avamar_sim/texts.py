"""Texts a real node prints, verbatim from public sources ([C] in AVAMAR_FACTS.md).

Only the timestamps, file names, client and server names are filled in. Guesses live in
:mod:`avamar_sim.inferred`.
"""

from __future__ import annotations

import datetime as _dt
from typing import List

# avtar client log of the KB's failed run, in the order the KB's full log shows it.
AVTAR_LOGIN_LINES = (
    "avtar Info <8474>: - Log file path: {log_path}",
    "avtar Info <6555>: Initializing connection",
    "avtar Info <5552>: Connecting to Avamar Server ({server})",
    "avtar Info <5554>: Connecting to one node in each datacenter",
    "avtar Info <5993>: - Connect: Connected to {ip}:29000, Priv=0, SSL Cipher=AES256-SHA",
    "avtar Info <5993>: - Datacenter 0 has 1 nodes: Connected to {ip}:29000, Priv=0, SSL Cipher=AES256-SHA",
    "avtar Info <5581>: Logging in on connection 0 with Session Ticket",
    "avtar Info <18854>: Using Secure Session Ticket Format",
)
AVTAR_AUTH_FAIL_LINES = (
    "avtar Error <8609>: Connection killed from GSAN.",
    "avtar Info <9772>: Starting graceful (staged) termination, KILL event received (wrap-up stage)",
    "avtar FATAL <5704>: Fatal Server Error occurred (MSG_ERR_AUTH_FAIL), aborting execution "
    "(SECURETICKETLOGIN=452 serial=1 seq=0 flags=R:H:0 kind=0 rsp=MSG_ERR_AUTH_FAIL)",
    "avtar Error <5126>: Login error 5: Authorization failure (Session Ticket login)",
    "avtar FATAL <8941>: Fatal server connection problem, aborting initialization. "
    "Verify correct server address and login credentials.",
    "avtar Info <6149>: Error summary: 4 errors: 8941, 5704, 5126, 8609",
    "avtar Info <5917>: Back from run-at-end, exit code -1",
    "avtar Error <7001>: Exiting avtar with run-at-end script failure -1",
)
AVTAR_FAILED_SUMMARY = "avtar Info <5314>: Command failed (5 errors, 2 warnings, exit code 10007: miscellaneous error)"
AVTAR_SUCCESS_LINE = "avtar Info <5314>: Command completed (1 warning, exit code 0: success)"
AVTAR_END_LINE = "----- END avtar log {stamp} UTC  (1 warning, 0 errors, 0 fatal errors)"

# GSAN sessionkeytable warnings (the KB shows them without the time prefix).
GSAN_1479 = "WARN: <1479> sessionkeytable::setpublickey new serial={serial} less than current minserial={minserial}"
GSAN_1418 = "WARN: <1418> sessionkeytable::setpublickey session ticket with serial={serial} was used already"
GSAN_1426 = "WARN: <1426> sessionkeytable::comparesignature incorrect signature"

AVMAINT_INVALID_PARAMETERS = "ERROR: avmaint: publickey: server_exception(MSG_ERR_INVALID_PARAMETERS)"
KEYTABLE_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'

DPNCTL_GSAN = "gsan status: {state}"
DPNCTL_MCS = "MCS status: {state}."
DPNCTL_EMT = "emt status: up."
DPNCTL_SCHED = "Backup scheduler status: {state}."
DPNCTL_MAINT = "Maintenance windows scheduler status: {state}."


def avtar_stamp(when: _dt.datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` as avtar prints it."""
    return when.strftime("%Y-%m-%d %H:%M:%S")


def gsan_stamp(when: _dt.datetime) -> str:
    """`YYYY/MM/DD-HH:MM:SS.fffff` as GSAN prints it."""
    return when.strftime("%Y/%m/%d-%H:%M:%S.") + f"{when.microsecond // 10:05d}"


def gsan_line(when: _dt.datetime, thread: str, text: str) -> str:
    """One GSAN log line: `2010/09/30-17:17:05.79312 {0.1} [thread]  WARN: <1479> ...`."""
    return f"{gsan_stamp(when)} {{0.1}} {thread}  {text}"


def avtar_lines(when: _dt.datetime, texts: List[str]) -> List[str]:
    stamp = avtar_stamp(when)
    return [f"{stamp} {text}" for text in texts]
