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


class _Running:
    """Sums and counts of one role's figures: memory stays flat however long a link runs."""

    def __init__(self):
        self.frames = self.snrs = self.judged = 0
        self.last_id = None
        self.snr = self.psnr = self.ms_ssim = self.same = 0.0

    def add(self, r: dict) -> None:
        self.frames += 1
        self.last_id = r["image_id"]
        self.psnr += r["psnr"]
        self.ms_ssim += r["ms_ssim"]
        if r.get("snr_db") is not None:
            self.snrs, self.snr = self.snrs + 1, self.snr + r["snr_db"]
        if r.get("same_person") is not None:
            self.judged, self.same = self.judged + 1, self.same + bool(r["same_person"])


class Figures:
    """Running figures per role; ``same person`` is the FPESR when the role is an eavesdropper."""

    def __init__(self):
        self.roles: dict[str, _Running] = defaultdict(_Running)

    def add(self, record: dict) -> None:
        self.roles[record["role"]].add(record)

    def rows(self) -> list[dict]:
        return [{"role": role, "frames": f.frames, "last_id": f.last_id,
                 "snr_db": f.snr / f.snrs if f.snrs else None, "psnr": f.psnr / f.frames,
                 "ms_ssim": f.ms_ssim / f.frames, "same_person": f.same / f.judged if f.judged else None}
                for role, f in self.roles.items()]

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
            if time.monotonic() >= next_print and figures.roles:
                print(figures.table(), end="\n\n", file=out, flush=True)
                next_print += every
    except KeyboardInterrupt:
        pass
    finally:
        socket.close(linger=0)
    return figures
