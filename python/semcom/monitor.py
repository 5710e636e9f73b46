"""Bob's and Eve's figures from the metrics sinks of running flowgraphs, or from their JSON lines.

A metrics sink publishes one JSON record per received frame (``role``, ``image_id``, ``snr_db``,
``psnr``, ``ms_ssim``, ``same_person``); this module keeps running figures per role and prints them
as a table. No GNU Radio import: it listens to flowgraphs in other processes.
"""
from __future__ import annotations

import json
import sys
import time
from collections import defaultdict
from pathlib import Path

COLUMNS = ("role", "frames", "last id", "SNR dB", "PSNR dB", "MS-SSIM", "same person")


class Figures:
    """Running figures per role; ``same person`` is the FPESR when the role is an eavesdropper."""

    def __init__(self):
        self.records: dict[str, list[dict]] = defaultdict(list)

    def add(self, record: dict) -> None:
        self.records[record["role"]].append(record)

    def rows(self) -> list[dict]:
        rows = []
        for role, recs in self.records.items():
            snrs = [r["snr_db"] for r in recs if r.get("snr_db") is not None]
            judged = [r["same_person"] for r in recs if r.get("same_person") is not None]
            rows.append({"role": role, "frames": len(recs), "last_id": recs[-1]["image_id"],
                         "snr_db": sum(snrs) / len(snrs) if snrs else None,
                         "psnr": sum(r["psnr"] for r in recs) / len(recs),
                         "ms_ssim": sum(r["ms_ssim"] for r in recs) / len(recs),
                         "same_person": sum(judged) / len(judged) if judged else None})
        return rows

    def table(self) -> str:
        def cell(value, fmt):
            return "n/a" if value is None else format(value, fmt)
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for r in self.rows():
            lines.append(f"| {r['role']} | {r['frames']} | {r['last_id']} | {cell(r['snr_db'], '.1f')} | "
                         f"{cell(r['psnr'], '.2f')} | {cell(r['ms_ssim'], '.3f')} | {cell(r['same_person'], '.1%')} |")
        return "\n".join(lines)


def read_jsonl(paths: list[Path]) -> Figures:
    figures = Figures()
    for path in paths:
        for n, line in enumerate(Path(path).read_text().splitlines(), 1):
            try:
                figures.add(json.loads(line))
            except (json.JSONDecodeError, KeyError) as e:
                raise ValueError(f"{path}:{n}: not a metrics record ({e})") from e
    return figures


def follow(addresses: list[str], seconds: float = 0.0, every: float = 1.0, out=sys.stdout) -> Figures:
    """Subscribe to metrics sinks' PUB sockets and reprint the table every ``every`` seconds,
    for ``seconds`` (0: until interrupted)."""
    import zmq
    socket = zmq.Context.instance().socket(zmq.SUB)
    socket.setsockopt_string(zmq.SUBSCRIBE, "")
    for address in addresses:
        socket.connect(address)
    figures, end = Figures(), time.monotonic() + seconds if seconds > 0 else float("inf")
    next_print = time.monotonic() + every
    try:
        while time.monotonic() < end:
            if socket.poll(timeout=100):
                figures.add(json.loads(socket.recv_string()))
            if time.monotonic() >= next_print and figures.records:
                print(figures.table(), end="\n\n", file=out, flush=True)
                next_print += every
    except KeyboardInterrupt:
        pass
    finally:
        socket.close(linger=0)
    return figures
