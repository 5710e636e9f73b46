"""`make demo`'s radio part: loopback_sim.grc run headless on the sample portraits with the shipped
models (AWGN 10 dB, CFO 0.05 subcarrier, 3-tap multipath), once sending the private portrait plainly
and once hiding it in the other portrait, with Eve trying each strategy that needs no data set.
Writes a PNG grid and the figures as JSON, and prints the table."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from gnuradio.semcom import compile_flowgraph  # noqa: E402
from gnuradio.semcom.image_source import load_images  # noqa: E402
from semcom.monitor import Figures  # noqa: E402

HERE = Path(__file__).resolve().parent
# (run, covert, Eve's strategy); the closed-box Eves need a trained network (semcom train eve)
RUNS = (("plain", 0, "naive"), ("covert", 1, "naive"), ("covert-glassbox", 1, "glassbox"),
        ("covert-genai", 1, "genai-glassbox"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("demo-out/loopback"))
    ap.add_argument("--snr", type=float, default=10.0)
    ap.add_argument("--cfo", type=float, default=0.05)
    args = ap.parse_args()
    flowgraph = compile_flowgraph(HERE / "loopback_sim.grc", args.out / "generated")
    sent = load_images("", 64)
    frames, figures, complete = len(sent), Figures(), True
    for run, covert, strategy in RUNS:
        out = args.out / run
        (out / "metrics.jsonl").unlink(missing_ok=True)
        print(f"--- {run}: {'private portrait hidden in the other' if covert else 'private portrait sent plainly'}, "
              f"Eve: {strategy}", flush=True)
        tb = flowgraph.loopback_sim(snr_db=args.snr, eve_snr_db=args.snr, cfo=args.cfo, stego=covert, strategy=strategy,
                                    frames=frames, timeout=300, out=str(out))
        tb.start()
        complete &= flowgraph.semcom.stop_when_received(tb, [tb.bob_private_metrics, tb.bob_host_metrics, tb.eve_metrics],
                                                        300)
        for line in (out / "metrics.jsonl").read_text().splitlines():
            record = json.loads(line)
            # Bob's figures repeat in each covert run (same seeds): the first one says it
            repeated = record["role"].startswith("bob") and run.startswith("covert-")
            if record["image_id"] < frames and not repeated:
                figures.add({**record, "role": f"{run}/{record['role']}"})
    columns = [("private (sent)", None), ("host (sent)", None), ("plain: Eve naive", "plain/eve_naive"),
               ("Bob private", "covert/bob_private"), ("Bob host", "covert/bob_host"),
               ("Eve naive", "covert/eve_naive"), ("Eve glass-box", "covert-glassbox/eve_glassbox"),
               ("Eve GenAI glass-box", "covert-genai/eve_genai-glassbox")]
    fig, axes = plt.subplots(frames, len(columns), figsize=(2 * len(columns), 2.2 * frames), squeeze=False)
    for i in range(frames):
        for j, (title, prefix) in enumerate(columns):
            if prefix is None:
                image = sent.images[(i + j) % frames]  # the host is the next portrait
            else:
                run, name = prefix.split("/")
                image = Image.open(args.out / run / f"{name}_{i:06d}.png")
            axes[i, j].imshow(image)
            axes[i, j].set_axis_off()
            if i == 0:
                axes[i, j].set_title(title, fontsize=9)
    fig.suptitle(f"loopback_sim.grc: AWGN {args.snr:g} dB, CFO {args.cfo:g} subcarrier, 3-tap multipath")
    fig.tight_layout()
    fig.savefig(args.out / "loopback_demo.png", dpi=100)
    (args.out / "loopback_demo.json").write_text(json.dumps({"snr_db": args.snr, "cfo": args.cfo,
                                                             "figures": figures.rows()}, indent=2))
    print(figures.table())
    print(f"wrote {args.out / 'loopback_demo.png'} and {args.out / 'loopback_demo.json'}")
    return 0 if complete else 1


if __name__ == "__main__":
    raise SystemExit(main())
