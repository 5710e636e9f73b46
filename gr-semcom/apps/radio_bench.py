#!/usr/bin/env python3
"""`make bench`, radio part: the loopback flowgraph against its compute bound (with the float
networks, then with their int8 copies against an int8 bound), the analog OFDM PHY
against GNU Radio's stock byte OFDM, frame detection against SNR and CFO, and (with --soak) 10,000
frames through the ZMQ processes. Every ratio is measured in this one run."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pmt
import torch
from gnuradio import blocks, channels, digital, gr

from gnuradio.semcom import compile_flowgraph, ofdm_analog_rx, ofdm_analog_tx
from gnuradio.semcom import ofdm_params as P
from semcom import channel, runtime
from semcom.bench import flops_per_image, int8_matmul_gops, matmul_gflops
from semcom.quantize import SUFFIX as INT8
from semcom.keys import DEMO_KEY, load_model
from semcom.train.codec import load_jscc

ROOT = Path(__file__).resolve().parents[2]
MODEL = "deepjscc-celeba64"
K = runtime.Codec(MODEL).symbols  # 1024 at 64x64, ratio 1/12: one frame of 22 OFDM symbols


def chain_flops() -> dict[str, float]:
    """FLOPs per image of every network an image passes through in loopback_sim (stego on, naive
    Eve): two encoders (private, host), the INN both ways, Bob's two decoders and Eve's decoder."""
    model, _ = load_jscc(runtime.checkpoint_path(MODEL))
    inn, _ = load_model(DEMO_KEY)
    x = torch.rand(8, 3, 64, 64)
    s = model.encoder(x).detach()
    snr = torch.full((8, 1), 10.0)
    enc, dec = flops_per_image(model.encoder, x), flops_per_image(model.decoder, s, snr)
    inn_flops = flops_per_image(inn, s, s)
    return {"encoders": 2 * enc, "inn embed + extract": 2 * inn_flops, "decoders (Bob x2, Eve)": 3 * dec}


def loopback_rate(frames: int, out: Path, model: str = MODEL, key: str = DEMO_KEY) -> dict:
    """Images per second through loopback_sim, timed on the metrics sinks between frame 100 and
    the last (start-up excluded); every image is Bob's private, Bob's host and Eve's. Also each
    role's mean PSNR, so that the int8 chain's cost in quality is read from the same run."""
    flowgraph = compile_flowgraph(ROOT / "flowgraphs" / "loopback_sim.grc", out / "generated")
    tb = flowgraph.loopback_sim(snr_db=20.0, eve_snr_db=20.0, stego=1, strategy="naive", frames=frames, faces=0,
                                model=model, key=key, out=str(out / "loopback"))
    sinks = [tb.bob_private_metrics, tb.bob_host_metrics, tb.eve_metrics]
    tb.start()
    complete = flowgraph.semcom.stop_when_received(tb, sinks, 600)
    warm = 100
    first = max(min(r["time"] for r in s.records if r["image_id"] == warm) for s in sinks)
    last = max(max(r["time"] for r in s.records) for s in sinks)
    return {"frames": frames, "complete": complete, "img_s": (frames - 1 - warm) / (last - first),
            "psnr": {s.role: float(np.mean([r["psnr"] for r in s.records])) for s in sinks}}


def analog_packets(frames: int, seed: int):
    """A source of ``frames`` random unit-power packets of the codec's K symbols, and its tagger."""
    z = np.random.default_rng(seed).standard_normal((frames, 2 * K)).view(np.complex128)
    src = blocks.vector_source_c(channel.power_normalize(z).astype(np.complex64).ravel().tolist())
    return src, blocks.stream_to_tagged_stream(gr.sizeof_gr_complex, 1, K, P.LEN_TAG)


def _samples_per_second(tb, counter) -> float:
    t = time.perf_counter()
    tb.run()
    return counter.nitems_read(0) / (time.perf_counter() - t)


def _rates(source, tagger, tx, make_rx, out_size: int) -> tuple[float, float]:
    """Samples per second through TX -> RX (no channel), and through a new RX alone on the same bursts."""
    tb = gr.top_block()
    rx = make_rx()  # held here: a hier block's Python blocks must outlive the run
    probe, air = blocks.probe_rate(gr.sizeof_gr_complex), blocks.vector_sink_c()
    tb.connect(source, tagger, tx, probe)
    tb.connect(tx, air)
    tb.connect(tx, rx, blocks.null_sink(out_size))
    both = _samples_per_second(tb, probe)
    tb, rx = gr.top_block(), make_rx()
    probe, replay = blocks.probe_rate(gr.sizeof_gr_complex), blocks.vector_source_c(air.data())
    tb.connect(replay, probe)
    tb.connect(replay, rx, blocks.null_sink(out_size))
    return both, _samples_per_second(tb, probe)


def phy_rates(frames: int, repeats: int = 3) -> dict:
    """Samples per second of TX -> RX (no channel), and of the RX alone (what a receiving SDR must
    keep up with), for the analog PHY (K symbols a frame) and for gr-digital's ofdm_tx/ofdm_rx
    (QPSK, 264-byte packets: 22 OFDM symbols, as the analog frame), the analog TX framing K
    symbols each as the flowgraphs do (``symbols=K``). Each is measured ``repeats``
    times, the two PHYs in turn, and compared by their medians: this machine's speed drifts by
    tens of percent from one second to the next."""
    nbytes = 264
    payload = np.random.default_rng(1).integers(0, 256, frames * nbytes).astype(np.uint8)
    runs = {"analog_ms_s": [], "analog_rx_ms_s": [], "stock_ms_s": [], "stock_rx_ms_s": []}
    for _ in range(repeats):
        src, tagger = analog_packets(frames, seed=0)
        both, rx = _rates(src, tagger, ofdm_analog_tx(symbols=K), ofdm_analog_rx, gr.sizeof_gr_complex)
        runs["analog_ms_s"].append(both / 1e6)
        runs["analog_rx_ms_s"].append(rx / 1e6)
        src, tagger = blocks.vector_source_b(payload.tolist()), blocks.stream_to_tagged_stream(1, 1, nbytes, P.LEN_TAG)
        stx = digital.ofdm_tx(fft_len=P.FFT_LEN, cp_len=P.CP_LEN, packet_length_tag_key=P.LEN_TAG, bps_header=1,
                              bps_payload=2, rolloff=0)
        both, rx = _rates(src, tagger, stx, _stock_rx, 1)
        runs["stock_ms_s"].append(both / 1e6)
        runs["stock_rx_ms_s"].append(rx / 1e6)
    median = {k: float(np.median(v)) for k, v in runs.items()}
    return {**median, "ratio": median["analog_ms_s"] / median["stock_ms_s"],
            "rx_ratio": median["analog_rx_ms_s"] / median["stock_rx_ms_s"], "runs": runs}


def rx_on_air(frames: int, rate: float = 2e6, per_second: float = 100.0) -> dict:
    """Samples per second of the analog receiver alone on air as an SDR delivers it: noise at the
    20 dB floor throughout and one frame every 1 / ``per_second`` s at ``rate`` samples a second
    (100 images a second at HackRF's lowest rate: the frames fill 12% of the air). The frames
    found are counted too."""
    tb = gr.top_block()
    src, tagger = analog_packets(frames, seed=3)
    tx, bursts = ofdm_analog_tx(symbols=K), blocks.vector_sink_c()
    tb.connect(src, tagger, tx, bursts)
    tb.run()
    spacing = int(rate / per_second)
    starts = [t.offset for t in bursts.tags() if pmt.symbol_to_string(t.key) == P.LEN_TAG]
    sent = np.asarray(bursts.data(), np.complex64)
    z = np.random.default_rng(4).standard_normal((frames * spacing, 2)) * P.noise_voltage(20.0) / np.sqrt(2)
    air = z.view(np.complex128)[:, 0].astype(np.complex64)
    for k, (a, b) in enumerate(zip(starts, starts[1:] + [len(sent)])):
        air[k * spacing:k * spacing + b - a] += sent[a:b]
    tb, rx = gr.top_block(), ofdm_analog_rx()
    replay, probe = blocks.vector_source_c(air.tolist()), blocks.probe_rate(gr.sizeof_gr_complex)
    tb.connect(replay, probe)
    tb.connect(replay, rx, blocks.null_sink(gr.sizeof_gr_complex))
    return {"ms_s": _samples_per_second(tb, probe) / 1e6, "frames": rx.sync.frames_out, "sent": frames,
            "air_ms_s": rate / 1e6, "frames_per_second": per_second}


def _stock_rx():
    return digital.ofdm_rx(fft_len=P.FFT_LEN, cp_len=P.CP_LEN, packet_length_tag_key=P.LEN_TAG, bps_header=1, bps_payload=2)


def detection(snrs, cfos, frames: int) -> dict:
    """Share of frames whose header the receiver decodes, at each SNR and CFO (subcarrier spacings),
    over a 3-tap multipath channel."""
    tb = gr.top_block()
    src, tagger = analog_packets(frames, seed=2)
    tx, bursts = ofdm_analog_tx(symbols=K), blocks.vector_sink_c()
    tb.connect(src, tagger, tx, bursts)
    tb.run()
    air = np.concatenate([np.asarray(bursts.data(), np.complex64), np.zeros(8000, np.complex64)]).tolist()
    rates = {}
    for cfo in cfos:
        for snr in snrs:
            tb = gr.top_block()
            chan = channels.channel_model(noise_voltage=P.noise_voltage(snr), frequency_offset=cfo / P.FFT_LEN,
                                          epsilon=1.0, taps=[1.0, 0.3 + 0.2j, 0.1j], noise_seed=int(snr * 10 + 3),
                                          block_tags=False)
            rx, sink = ofdm_analog_rx(), blocks.vector_sink_c()
            tb.connect(blocks.vector_source_c(air), chan, rx, sink)
            tb.run()
            nums = {pmt.to_long(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == P.NUM_TAG}
            rates[(cfo, snr)] = len(nums & set(range(frames))) / frames
    return rates


def plot_detection(rates: dict, snrs, cfos, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for cfo in cfos:
        ax.plot(snrs, [100 * rates[(cfo, s)] for s in snrs], marker="o", label=f"CFO {cfo:+.2f}")
    ax.axhline(99, color="grey", ls=":", label="99%")
    ax.set(xlabel="SNR (dB, semcom.channel convention)", ylabel="frames detected (%)",
           title="Analog OFDM frame detection, 3-tap multipath")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def soak(frames: int, out: Path) -> dict:
    """The four ZMQ processes at 20 dB for ``frames`` frames: frames lost at Bob and Eve, and their
    peak RSS growth between frame 1,000 and the last."""
    scripts = {name: compile_flowgraph(ROOT / "flowgraphs" / f"{name}.grc", out / "generated").__file__
               for name in ("alice_tx_zmq", "channel_zmq", "bob_rx_zmq", "eve_rx_zmq")}
    base = 30000 + os.getpid() % 20000
    tx, air = f"tcp://127.0.0.1:{base}", f"tcp://127.0.0.1:{base + 1}"
    args = {"channel_zmq": ["-s", "20", "--tx-address", tx, "--air-address", air],
            "bob_rx_zmq": ["--air-address", air, "--metrics-address", f"tcp://127.0.0.1:{base + 2}", "-o", str(out / "bob")],
            "eve_rx_zmq": ["--air-address", air, "--metrics-address", f"tcp://127.0.0.1:{base + 3}", "-o", str(out / "eve")],
            "alice_tx_zmq": ["--tx-address", tx]}
    for role in ("bob", "eve"):
        (out / role / "metrics.jsonl").unlink(missing_ok=True)
    procs = {}

    def count(role):
        path = out / role / "metrics.jsonl"
        return sum(1 for _ in open(path)) if path.exists() else 0

    peak = {"bob": {}, "eve": {}}
    try:
        for name in ("channel_zmq", "bob_rx_zmq", "eve_rx_zmq"):
            procs[name] = subprocess.Popen([sys.executable, scripts[name], *args[name]], stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL)
        while not all((out / r / "metrics.jsonl").exists() for r in ("bob", "eve")):
            time.sleep(0.2)
        time.sleep(8)  # Eve loads torch before subscribing
        procs["alice_tx_zmq"] = subprocess.Popen([sys.executable, scripts["alice_tx_zmq"], *args["alice_tx_zmq"]],
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        start = time.monotonic()
        # Bob's private and host records share a file: two lines a frame
        while min(count("bob") // 2, count("eve")) < frames and time.monotonic() - start < 3600:
            for role in ("bob", "eve"):
                n = count(role) // (2 if role == "bob" else 1)
                rss = _rss_kib(procs[f"{role}_rx_zmq"].pid)
                key = "early" if n < 1000 else "late"
                peak[role][key] = max(peak[role].get(key, 0), rss)
            print(f"\rsoak: Bob {count('bob') // 2}, Eve {count('eve')} of {frames} frames", end="", file=sys.stderr)
            time.sleep(1.0)
        elapsed = time.monotonic() - start
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(timeout=30)
    print(file=sys.stderr)
    report = {"frames": frames, "seconds": elapsed}
    for role, roles in (("bob", ("bob-private", "bob-host")), ("eve", ("eve-naive",))):
        records = [json.loads(line) for line in open(out / role / "metrics.jsonl")]
        for r in roles:
            ids = [rec["image_id"] for rec in records if rec["role"] == r][:frames]
            report[f"{r}_lost"] = frames - len(set(ids) & set(range(frames)))
            report[f"{r}_in_order"] = ids == sorted(ids)
        early, late = peak[role].get("early", 0), peak[role].get("late", 0)
        report[f"{role}_rss_growth"] = (late - early) / early if early else None
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("runs/bench"))
    ap.add_argument("--frames", type=int, default=600, help="images through loopback_sim")
    ap.add_argument("--phy-frames", type=int, default=2000)
    ap.add_argument("--detection-frames", type=int, default=100, help="frames per SNR and CFO")
    ap.add_argument("--soak", type=int, default=0, help="frames through the ZMQ processes (10000 for the soak)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}

    flops = chain_flops()
    total = sum(flops.values())
    threads = torch.get_num_threads()
    chains = {"float": (MODEL, DEMO_KEY, matmul_gflops(), "GFLOP/s float32 matmul"),
              "int8": (MODEL + INT8, DEMO_KEY + INT8, int8_matmul_gops(), "GOP/s uint8 x int8 matmul")}
    for chain, (model, key, bound, unit) in chains.items():
        lb = loopback_rate(args.frames, args.out / chain, model, key)
        r = report[f"loopback_{chain}"] = {
            **lb, "model": model, "key": key, "mflops_per_image": {k: v / 1e6 for k, v in flops.items()},
            "matmul_gops": bound, "bound_img_s": bound * 1e9 / total, "fraction_of_bound": lb["img_s"] * total / (bound * 1e9)}
        print(f"\nloopback_sim, {chain} networks ({model}, {key}; stego on, Bob + naive Eve, 64x64, {threads} threads): "
              f"{r['img_s']:.1f} img/s (goal 100); networks {total / 1e6:.0f} MFLOP per image, {bound:.0f} {unit} -> "
              f"bound {r['bound_img_s']:.1f} img/s; reached {100 * r['fraction_of_bound']:.0f}% of the bound (goal 50%); "
              "mean PSNR at 20 dB " + ", ".join(f"{role} {v:.2f} dB" for role, v in lb["psnr"].items()))

    phy = phy_rates(args.phy_frames)
    report["phy"] = phy

    def rate(key):
        return f"{phy[key]:.2f} MS/s (median of {', '.join(f'{v:.2f}' for v in phy['runs'][key])})"
    print(f"analog OFDM TX+RX: {rate('analog_ms_s')} (goal 2); gr-digital byte OFDM TX+RX: {rate('stock_ms_s')}; "
          f"ratio {phy['ratio']:.2f} (goal 0.9)")
    print(f"receivers alone on the same bursts: analog {rate('analog_rx_ms_s')}, gr-digital {rate('stock_rx_ms_s')}; "
          f"ratio {phy['rx_ratio']:.2f}")
    air = report["rx_on_air"] = rx_on_air(args.phy_frames // 2)
    print(f"analog receiver alone on {air['air_ms_s']:.0f} MS/s of air with {air['frames_per_second']:.0f} frames a "
          f"second: {air['ms_s']:.2f} MS/s ({air['frames']} of {air['sent']} frames)")

    snrs, cfos = sorted({*range(0, 21, 2), 5}), [-0.3, -0.1, 0.0, 0.1, 0.3]  # 5 dB: the goal's edge
    rates = detection(snrs, cfos, args.detection_frames)
    plot_detection(rates, snrs, cfos, args.out / "detection.png")
    report["detection"] = {f"cfo {c:+.2f}": {str(s): rates[(c, s)] for s in snrs} for c in cfos}
    worst = min(rates[(c, s)] for c in cfos for s in snrs if s >= 5)
    print(f"frame detection, {args.detection_frames} frames per point, 3-tap multipath, CFO up to 0.3: worst at "
          f"SNR >= 5 dB {100 * worst:.1f}% (goal 99%); at 0 dB {100 * min(rates[(c, 0)] for c in cfos):.1f}%; "
          f"curve {args.out / 'detection.png'}")

    if args.soak:
        report["soak"] = soak(args.soak, args.out / "soak")
        s = report["soak"]
        print(f"soak: {s['frames']} frames in {s['seconds']:.0f} s; lost Bob private {s['bob-private_lost']}, host "
              f"{s['bob-host_lost']}, Eve {s['eve-naive_lost']}; peak RSS growth frame 1000 -> end: Bob "
              f"{100 * (s['bob_rss_growth'] or 0):.1f}%, Eve {100 * (s['eve_rss_growth'] or 0):.1f}% (goal < 5%)")
    (args.out / "radio_bench.json").write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out / 'radio_bench.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
