"""The ``semcom`` command: train, export, eval, bench, demo."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import data, evaluate
from .evaluate import fmt


def _train_codec(args) -> None:
    from .nn.jscc import JSCCConfig
    from .train.codec import CodecTrainConfig, train
    root = args.data or data.default_data_dir()
    if root is None:
        raise SystemExit("no --data given, $SEMCOM_DATA unset and ../shared/data/celeba-10k not found")
    cfg = CodecTrainConfig(
        data=str(root), out=str(args.out), epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed,
        channel=args.channel, fading=args.fading, snr_min=args.snr_range[0], snr_max=args.snr_range[1],
        limit=args.limit, max_minutes=args.max_minutes,
        model=JSCCConfig(height=args.size, width=args.size, ratio=args.ratio, channels=args.channels, blocks=args.blocks))
    final = train(cfg, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:  # one line, also under torchrun
        print(f"wrote {final}")


def _export_codec(args) -> None:
    from .export import export_codec
    from .train.codec import load_jscc
    model, info = load_jscc(args.checkpoint)
    real = None
    if args.data:
        real = data.load_folder(args.data, (model.cfg.height, model.cfg.width), split=args.split, limit=16).as_float()
    train_info = info.get("train", {})
    record = {"data": Path(train_info.get("data", "?")).name, "split": "train (identity-disjoint, 10% of identities held out, seed 0)",
              "images": info.get("train_images"), "epochs": info.get("epochs_done"),
              "channel": train_info.get("channel"), "snr_db": [train_info.get("snr_min"), train_info.get("snr_max")],
              "batch": train_info.get("batch"), "lr": train_info.get("lr"), "device": info.get("device"),
              "minutes": round(info["history"][-1]["minutes"], 1) if info.get("history") else None,
              "seed": train_info.get("seed")}
    entry = export_codec(model, args.out, args.name, real, checkpoint=Path(args.checkpoint), info=record)
    print(json.dumps({"name": args.name, "parity_max_abs_diff": entry["parity_max_abs_diff"]}, indent=2))


def _eval_codec(args) -> None:
    from . import lpips
    from .runtime import Codec
    codec = Codec(args.model)
    images = evaluate.images_from_args(args, codec.resolution)
    chan = evaluate.channel_from_args(args)
    results = evaluate.eval_codec(codec, images, chan, args.snr, args.seed, args.batch, lpips.load())
    print(f"{codec.name} over {chan.kind}" + (f" ({chan.fading} fading, {chan.eq})" if chan.kind == "rayleigh" else ""))
    print(f"{'SNR dB':>7} {'PSNR':>7} {'MS-SSIM':>8} {'LPIPS':>6} {'n':>6}")
    for r in results:
        print(f"{r['snr_db']:7.1f} {fmt(r['psnr']):>7} {fmt(r['ms_ssim'], 4):>8} {fmt(r['lpips'], 3):>6} {r['n']:6d}")
    payload = {"channel": chan.kind, "fading": chan.fading if chan.kind == "rayleigh" else None,
               "equalizer": chan.eq if chan.kind == "rayleigh" else None, "model": codec.name,
               "data": str(args.data or data.default_data_dir()), "split": args.split, "results": results}
    evaluate.write_json(args.json, payload)
    if args.record:
        from .export import update_manifest
        from .runtime import models_dir, model_entry
        key = chan.kind if chan.kind == "awgn" else f"rayleigh-{chan.fading}-{chan.eq}"
        entry = model_entry(codec.name)
        entry.setdefault("metrics", {})[key] = {k: v for k, v in payload.items() if k != "data"} | {
            "data": Path(payload["data"]).name}
        update_manifest(models_dir(), codec.name, entry, keep=())


def _eval_baseline(args) -> None:
    from .runtime import Codec
    codec = Codec(args.model)
    images = evaluate.images_from_args(args, codec.resolution)
    chan = evaluate.channel_from_args(args)
    results = evaluate.eval_baseline(images, codec.symbols, chan, args.snr, args.seed)
    ours = evaluate.eval_codec(codec, images, chan, args.snr, args.seed, args.batch)
    print(f"digital baseline at capacity, K = {codec.symbols} channel uses, {chan.kind}")
    print(f"{'SNR dB':>7} {'DeepJSCC':>9} {'JPEG':>7} {'WebP':>7} {'n':>6}")
    for r, o in zip(results, ours):
        r["deepjscc"] = {"psnr": o["psnr"], "ms_ssim": o["ms_ssim"]}
        print(f"{r['snr_db']:7.1f} {fmt(o['psnr']):>9} {fmt(r['jpeg']['psnr']):>7} {fmt(r['webp']['psnr']):>7} {r['n']:6d}")
    evaluate.write_json(args.json, {"channel": chan.kind, "symbols": codec.symbols, "results": results})
    if args.plot:
        snrs = [r["snr_db"] for r in results]
        evaluate.plot_psnr(args.plot, {
            "DeepJSCC": (snrs, [r["deepjscc"]["psnr"] for r in results]),
            "WebP at capacity": (snrs, [r["webp"]["psnr"] for r in results]),
            "JPEG at capacity": (snrs, [r["jpeg"]["psnr"] for r in results])},
            f"{codec.name}, {chan.kind}, K={codec.symbols}, n={len(images)}")


def _bench(args) -> None:
    from .bench import run
    run(args.model, args.batch, args.repeats)


def _demo(args) -> None:
    from .demo import run
    run(args.model, args.out, args.snr, args.channel, args.seed)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="semcom", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a model").add_subparsers(dest="what", required=True)
    t = train.add_parser("codec", help="train DeepJSCC (works under torchrun for several GPUs)")
    t.add_argument("--data", type=Path, default=None, help="image folder (default: $SEMCOM_DATA or ../shared/data/celeba-10k)")
    t.add_argument("--out", type=Path, default=Path("runs/codec"), help="checkpoint folder")
    t.add_argument("--epochs", type=int, default=48)
    t.add_argument("--batch", type=int, default=32, help="per process")
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--channel", choices=["awgn", "rayleigh", "mixed"], default="awgn")
    t.add_argument("--fading", choices=["block", "fast"], default="block")
    t.add_argument("--snr-range", type=float, nargs=2, default=[0.0, 20.0], metavar=("MIN", "MAX"))
    t.add_argument("--size", type=int, default=64, help="image height and width")
    t.add_argument("--ratio", default="1/12", help="bandwidth ratio K / (3 H W)")
    t.add_argument("--channels", type=int, default=96, help="feature width")
    t.add_argument("--blocks", type=int, default=2, help="residual blocks per side")
    t.add_argument("--limit", type=int, default=None, help="first N training images only (smoke runs)")
    t.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this time")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.set_defaults(func=_train_codec)

    export = sub.add_parser("export", help="export to ONNX with a parity check").add_subparsers(dest="what", required=True)
    e = export.add_parser("codec")
    e.add_argument("--checkpoint", type=Path, required=True, help="codec.pt written by 'semcom train codec'")
    e.add_argument("--name", default=evaluate.DEFAULT_CODEC)
    e.add_argument("--out", type=Path, default=None, help="models folder (default: the project's models/)")
    e.add_argument("--data", type=Path, default=None, help="real images for the parity check (default: sample portraits)")
    e.add_argument("--split", choices=["train", "test"], default=None)
    e.set_defaults(func=_export_codec)

    ev = sub.add_parser("eval", help="evaluate over the channel").add_subparsers(dest="what", required=True)
    c = ev.add_parser("codec", help="DeepJSCC through ONNX Runtime")
    evaluate.add_common_options(c)
    c.add_argument("--record", action="store_true", help="store the results as the model's metrics in the manifest")
    c.set_defaults(func=_eval_codec)
    b = ev.add_parser("baseline", help="JPEG and WebP at the capacity of the same channel uses")
    evaluate.add_common_options(b)
    b.add_argument("--plot", type=Path, default=None, help="PNG of PSNR vs SNR: DeepJSCC, JPEG, WebP")
    b.set_defaults(func=_eval_baseline)

    bench = sub.add_parser("bench", help="throughput of the codec: ONNX Runtime vs torch, and the compute bound")
    bench.add_argument("--model", default=evaluate.DEFAULT_CODEC)
    bench.add_argument("--batch", type=int, default=64)
    bench.add_argument("--repeats", type=int, default=5)
    bench.set_defaults(func=_bench)

    demo = sub.add_parser("demo", help="send the sample portraits through the codec and the channel")
    demo.add_argument("--model", default=evaluate.DEFAULT_CODEC)
    demo.add_argument("--out", type=Path, default=Path("demo-out"))
    demo.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    demo.add_argument("--channel", choices=["awgn", "rayleigh"], default="awgn")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "out", 1) is None:
        from .runtime import models_dir
        args.out = models_dir()
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
