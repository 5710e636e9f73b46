"""Headless runs of the .grc flowgraphs: compiled with grcc, then stopped once the metrics sinks have
scored the frames asked for (radio flowgraphs never see an end of stream: the channel's noise and
the receivers run on)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from semcom.monitor import Figures


def stop_when_received(tb, sinks, timeout: float = 0.0) -> bool:
    """Wait until every sink has its ``frames`` (or ``timeout`` seconds, 0: no limit), stop ``tb``,
    print the figures of those frames per role and any of them that did not arrive. True when none
    is missing."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    for sink in sinks:
        sink.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
    tb.stop()
    tb.wait()
    figures = Figures()
    for sink in sinks:
        for record in sink.records:
            if record["image_id"] < sink.frames:
                figures.add(record)
    print(figures.table())
    complete = True
    for sink in sinks:
        missing = sorted(set(range(sink.frames)) - {r["image_id"] for r in sink.records})
        if missing:
            print(f"{sink.role}: {len(missing)} of the first {sink.frames} frames missing (ids {missing[:10]}"
                  f"{' ...' if len(missing) > 10 else ''})")
            complete = False
    return complete


def compile_flowgraph(grc: str | os.PathLike, out_dir: str | os.PathLike):
    """Compile a ``.grc`` with ``grcc`` against the blocks installed beside this module and import
    the generated script; returns the module (its top block class has the flowgraph's id)."""
    grc, out_dir = Path(grc), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GRC_BLOCKS_PATH": str(Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks")}
    run = subprocess.run([sys.executable, shutil.which("grcc") or "/usr/bin/grcc", "-o", str(out_dir), str(grc)],
                         capture_output=True, text=True, env=env)
    if run.returncode:
        raise RuntimeError(f"grcc could not compile {grc}:\n{run.stdout}{run.stderr}")
    spec = importlib.util.spec_from_file_location(grc.stem, out_dir / f"{grc.stem}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if hasattr(module, "Qt"):  # a Qt GUI flowgraph: its top block is a widget, which needs the application
        global _qt_app
        _qt_app = module.Qt.QApplication.instance() or module.Qt.QApplication([])
    return module


_qt_app = None
