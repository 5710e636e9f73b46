"""The ``semcom`` command: train, export, eval, bench, demo."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import data, evaluate
from .attacks import PAPER_STRATEGIES, STRATEGIES
from .evaluate import fmt
from .keys import DEMO_KEYS


def _train_codec(args) -> None:
    from .nn.jscc import JSCCConfig
    from .train.codec import CodecTrainConfig, train
    root = evaluate.data_root(args)
    cfg = CodecTrainConfig(
        data=str(root), out=str(args.out), epochs=args.epochs, batch=args.batch, lr=args.lr, seed=args.seed,
        channel=args.channel, fading=args.fading, snr_min=args.snr_range[0], snr_max=args.snr_range[1],
        limit=args.limit, max_minutes=args.max_minutes,
        model=JSCCConfig(height=args.size, width=args.size, ratio=args.ratio, channels=args.channels, blocks=args.blocks))
    final = train(cfg, resume=args.resume)
    if int(os.environ.get("RANK", "0")) == 0:  # one line, also under torchrun
        print(f"wrote {final}")


def _train_stego(args) -> None:
    from .train.stego import StegoTrainConfig, train
    root = evaluate.data_root(args)
    gan = args.paradigm == "gan"  # trained against both discriminators, 0.1 each unless told otherwise
    adversarial = args.adversarial if args.adversarial is not None else 0.1 * gan
    image_adversarial = args.image_adversarial if args.image_adversarial is not None else 0.1 * gan
    cfg = StegoTrainConfig(
        data=str(root), out=str(args.out), codec=args.codec, paradigm=args.paradigm, samples=args.samples or None,
        steps=args.steps, batch=args.batch, lr=args.lr, weights=tuple(args.weights), channel=args.channel,
        fading=args.fading, snr_min=args.snr_range[0], snr_max=args.snr_range[1], lost=args.lost,
        adversarial=adversarial, image_adversarial=image_adversarial, blocks=args.blocks, hidden=args.hidden,
        layers=args.layers, seed=args.seed, max_minutes=args.max_minutes, demo=args.demo,
        init=str(args.init) if args.init else None)
    try:
        cfg.check()
    except ValueError as e:
        raise SystemExit(str(e))
    print(f"wrote {train(cfg, resume=args.resume)} (owner-only; share it with Bob over a secure channel)")


def _train_generator(args) -> None:
    from .nn.generator import GeneratorConfig
    from .train.generator import GeneratorTrainConfig, train
    root = evaluate.data_root(args)
    cfg = GeneratorTrainConfig(
        data=str(root), out=str(args.out), steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
        limit=args.limit, max_minutes=args.max_minutes, model=GeneratorConfig(latent=args.latent, width=args.width))
    print(f"wrote {train(cfg, resume=args.resume)}")


def _train_eve(args) -> None:
    """Train one closed-box inverse network for the Eve block (the file eval attacks would reuse)."""
    from .attacks.eve import Eve, EveSetup
    from .keys import Stego
    from .runtime import Codec
    from .train.eve import EveTrainConfig
    codec = Codec(args.model)
    stego = Stego(args.key) if args.stego else None
    root = args.data or data.default_data_dir()
    if root is None:
        raise SystemExit("Eve needs public faces: give --data DIR (people other than the victims)")
    public = data.load_folder(root, codec.resolution, split=None if args.split == "all" else args.split,
                              limit=args.limit, progress=True)
    setup = EveSetup(train=EveTrainConfig(steps=args.steps, channel=args.channel), generator=args.generator,
                     cache=args.out, seed=args.seed)
    eve = Eve(codec, public, setup, stego)
    eve.attack(args.strategy, None if args.queries == "all" else int(args.queries))
    print(f"wrote {next(iter(eve.trained))} (use it as the Eve block's inverse network)")


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


def _export_generator(args) -> None:
    from .export import export_generator
    from .train.generator import load_generator
    G, info = load_generator(args.checkpoint)
    entry = export_generator(G, args.out, args.name, checkpoint=Path(args.checkpoint), info=info)
    print(json.dumps({"name": args.name, "parity_max_abs_diff": entry["parity_max_abs_diff"]}, indent=2))


def _export_stego(args) -> None:
    """Ship a key in the models folder as a public demo key: copy it, describe it in the manifest."""
    import shutil
    from . import keys
    from .export import update_manifest
    from .runtime import graph_shapes, session, sha256
    meta, members = keys.read(args.key)
    if not meta.get("demo"):
        raise SystemExit(f"{args.key} is a private key (trained without --demo); shipping it in {args.out} "
                         "would publish it. Train a separate key with --demo for the models folder.")
    name = args.name or keys.DEMO_KEYS[meta["paradigm"]]
    target = args.out / f"{name}.key"
    shutil.copyfile(args.key, target)
    target.chmod(0o644)  # a demo key is public by definition
    parts = {}
    for part in ("embed", "extract"):
        graph = session(members[f"{part}.onnx"])
        parts[part] = {"inputs": graph_shapes(graph.get_inputs()), "outputs": graph_shapes(graph.get_outputs())}
    update_manifest(args.out, name, {
        "kind": f"stego-{meta['paradigm']}", "codec": meta["codec"], "symbols": meta["symbols"], "demo": True,
        "lost_estimate": meta["lost"] if meta["paradigm"] == "inn" else None, "config": meta["config"],
        "parameters": meta["parameters"], "key": {"file": target.name, "sha256": sha256(target)}, "parts": parts,
        "training": meta["training"]} | ({"quantized": meta["quantized"]} if "quantized" in meta else
                                          {"parity_max_abs_diff": meta["parity_max_abs_diff"]}))
    print(f"wrote {target} and its manifest entry {name!r}")


def _quantize_images(args, resolution) -> tuple[data.ImageSet, str]:
    root = evaluate.data_root(args)
    images = data.load_folder(root, tuple(resolution), split=args.split, limit=args.limit, progress=True)
    return images, root.name


def _quantize_codec(args) -> None:
    from .quantize import SUFFIX, quantize_codec
    from .runtime import Codec
    images, data_name = _quantize_images(args, Codec(args.model, args.out).resolution)
    name = args.name or args.model + SUFFIX
    entry = quantize_codec(args.model, images, data_name, name, args.out, args.seed)
    print(f"wrote {', '.join(p['file'] for p in entry['parts'].values())} and the manifest entry {name!r}; "
          f"measure it with 'semcom eval codec --model {name} --record'")


def _quantize_key(args) -> None:
    from .quantize import quantize_key
    from .runtime import Codec
    images, data_name = _quantize_images(args, Codec(args.model).resolution)
    quantize_key(args.key, args.model, images, data_name, args.out, args.seed)
    print(f"wrote {args.out}" + ("; ship a demo key with 'semcom export stego --key ... --name ...'"
                                 if str(args.key) in DEMO_KEYS.values() else ""))


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
               "data": str(evaluate.data_root(args)), "split": args.split, "results": results}
    evaluate.write_json(args.json, payload)
    if args.record:
        _record_metrics(codec.name, chan, {k: v for k, v in payload.items() if k != "data"} | {
            "data": Path(payload["data"]).name})


def _record_metrics(name: str, chan, figures: dict) -> None:
    """Store evaluation results as a manifest entry's metrics, one slot per channel setting."""
    from .export import update_manifest
    from .runtime import model_entry, models_dir
    slot = chan.kind if chan.kind == "awgn" else f"rayleigh-{chan.fading}-{chan.eq}"
    entry = model_entry(name)
    entry.setdefault("metrics", {})[slot] = figures
    update_manifest(models_dir(), name, entry, keep=())


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


def _eval_stego(args) -> None:
    from . import lpips, stego_eval
    from .keys import Stego
    from .runtime import Codec
    if args.record:
        from .runtime import read_manifest
        if args.key not in read_manifest()["models"]:
            raise SystemExit(f"--record stores figures in the manifest: --key must name a manifest entry, got {args.key}")
    codec = Codec(args.model)
    stego = Stego(args.key)
    wrong = Stego(args.wrong_key) if args.wrong_key else None
    images = evaluate.images_from_args(args, codec.resolution)
    chan = evaluate.channel_from_args(args)
    root = evaluate.data_root(args)
    results = stego_eval.eval_stego(codec, stego, images, root, chan, args.snr, args.seed, args.batch,
                                    lpips.load(), wrong)
    print(f"covert communication with key {stego.path.name} over {chan.kind}, {results[0]['pairs']} (host, private) pairs")
    cols = ["bob_host", "bob_private", "jscc_reference", "eve_decoder_vs_host", "eve_decoder_vs_private"]
    cols += [stego_eval.WRONG_KEY] if wrong else []
    print(f"{'SNR dB':>7} " + " ".join(f"{c:>22}" for c in cols) + "   (PSNR dB / MS-SSIM)")
    for r in results:
        print(f"{r['snr_db']:7.1f} " + " ".join(f"{fmt(r[c]['psnr']):>13} / {fmt(r[c]['ms_ssim'], 4)}" for c in cols))
    evaluate.write_json(args.json, {"channel": chan.kind, "fading": chan.fading if chan.kind == "rayleigh" else None,
                                    "codec": codec.name, "key": stego.path.name, "lost_estimate": stego.lost_mode,
                                    "wrong_key": wrong.path.name if wrong else None,
                                    "data": str(root), "split": args.split, "results": results})
    if args.plot:
        stego_eval.plot(args.plot, results, f"key {stego.path.name}, {chan.kind}, {results[0]['pairs']} pairs")
    if args.record:
        _record_metrics(args.key, chan, {"channel": chan.kind, "codec": codec.name, "data": Path(root).name,
                                         "split": args.split, "wrong_key": wrong.path.name if wrong else None,
                                         "results": results})


def _eval_steganalysis(args) -> None:
    from . import steganalysis
    from .keys import Stego
    from .runtime import Codec
    codec = Codec(args.model)
    stego = Stego(args.key)
    stego.check_codec(codec)
    root = evaluate.data_root(args)
    train_set = data.load_folder(root, codec.resolution, split="train", limit=args.train_images, progress=True)
    test_set = data.load_folder(root, codec.resolution, split="test", limit=args.limit, progress=True)
    train = steganalysis.clean_signals(codec, stego, train_set, args.seed)
    test = steganalysis.clean_signals(codec, stego, test_set, args.seed + 1)
    chan = evaluate.channel_from_args(args)
    latent = tuple(stego.meta["config"]["latent"])
    results = [steganalysis.detection_accuracy(train, test, latent, chan, s, args.epochs, seed=args.seed)
               for s in args.snr]
    print(f"steganalyser against key {stego.path.name} over {chan.kind} (chance: 0.50)")
    print(f"{'SNR dB':>7} {'held-out acc':>13} {'train acc':>10} {'test signals':>13}")
    for r in results:
        print(f"{r['snr_db']:7.1f} {r['accuracy']:13.3f} {r['train_accuracy']:10.3f} {r['test_signals']:13d}")
    evaluate.write_json(args.json, {"channel": chan.kind, "codec": codec.name, "key": stego.path.name,
                                    "data": str(root), "results": results})


def _eval_attacks(args) -> None:
    from . import attack_eval, face, lpips
    from .attacks.eve import Eve
    from .keys import Stego
    from .runtime import Codec
    strategies, budgets = _strategies_and_budgets(args)
    codec = Codec(args.model)
    stego = Stego(args.key) if args.stego else None
    if stego is not None:
        stego.check_codec(codec)
    images = evaluate.images_from_args(args, codec.resolution)
    root = evaluate.data_root(args)
    public, public_desc = _eve_public_faces(args, codec, images, root)
    recognizer = face.Recognizer()
    v = attack_eval.victims(images, root, recognizer, stego is not None, args.seed)
    gallery = None
    if data.read_identities(root):
        pool = data.load_folder(root, codec.resolution, split=args.split)
        gallery = face.Gallery.build(recognizer, pool.images, [str(f) for f in pool.files],
                                     attack_eval.identities(pool, root), set(v.people))
    operating = face.operating_point(recognizer, *attack_eval.original_faces(v, gallery), seed=args.seed)
    eve = Eve(codec, public, _eve_setup(args), stego)
    chan = evaluate.channel_from_args(args)
    results, grids = attack_eval.eval_attacks(codec, eve, strategies, budgets, v, recognizer, gallery, chan, args.snr,
                                              args.seed, lpips.load(), stego)
    what = f"{'covert (key ' + stego.path.name + ')' if stego else 'no defence'}, {chan.kind}, {len(v.sent)} victims"
    print(f"eavesdroppers on {codec.name}: {what}; Eve's data: {public_desc}")
    print(f"recognizer: threshold {operating['threshold']}, false accepts {fmt(operating['far'], 4)} "
          f"({operating['different_pairs']} pairs of different people), true accepts {fmt(operating['tar'], 3)} "
          f"({operating['same_pairs']} pairs of one person), fallback boxes {operating['fallback_boxes']}/{operating['faces']}")
    print(f"{'SNR dB':>7} {'strategy':>26} {'PSNR':>6} {'MS-SSIM':>8} {'FPESR':>6} {'rank-1':>6} {'s/img':>7}"
          + ("  vs host: PSNR  FPESR" if stego else ""))
    for r in results:
        for row in [{"strategy": "Bob", **r["bob"], "rank1": None, "seconds_per_image": None}] + r["strategies"]:
            host = f"  {fmt(row['vs_host']['psnr']):>14} {fmt(row['vs_host']['fpesr'], 3):>6}" if "vs_host" in row else ""
            print(f"{r['snr_db']:7.1f} {attack_eval.label(row):>26} {fmt(row['psnr']):>6} {fmt(row['ms_ssim'], 4):>8} "
                  f"{fmt(row['fpesr'], 3):>6} {fmt(row['rank1'], 3):>6} {fmt(row['seconds_per_image'], 4):>7}{host}")
    payload = {"channel": chan.kind, "fading": chan.fading if chan.kind == "rayleigh" else None, "codec": codec.name,
               "stego": stego.path.name if stego else None, "data": str(root), "split": args.split,
               "eve_data": public_desc, "victims": len(v.sent), "recognizer": operating,
               "eve_models": eve.trained, "results": results}
    evaluate.write_json(args.json, payload)
    prefix = args.plots or (args.json.with_suffix("") if args.json else None)
    if prefix is not None:
        prefix = Path(prefix)
        attack_eval.plot_curves(prefix.with_name(prefix.name + ".curves.png"), results, what, stego is not None)
        at5 = min(results, key=lambda r: abs(r["snr_db"] - 5.0))
        attack_eval.plot_fpesr_bars(prefix.with_name(prefix.name + ".fpesr.png"), at5, what)
        attack_eval.plot_grid(prefix.with_name(prefix.name + ".grid.png"), grids[at5["snr_db"]], f"{what}, {at5['snr_db']:g} dB")


def _add_eve_options(p: argparse.ArgumentParser, strategies: str) -> None:
    p.add_argument("--strategies", default=strategies, help=f"comma-separated, from {', '.join(STRATEGIES)}")
    p.add_argument("--queries", nargs="+", default=["100"],
                   help="closed-box query budgets, numbers or 'all' (the paper: 100)")
    p.add_argument("--eve-data", type=Path, default=None,
                   help="Eve's public faces (default: the development set's train split; never the victims' people)")
    p.add_argument("--eve-split", choices=["train", "test", "all"], default="train")
    p.add_argument("--eve-limit", type=int, default=None, help="first N of Eve's faces only")
    p.add_argument("--eve-steps", type=int, default=1500, help="training steps of each closed-box inverse network")
    p.add_argument("--eve-cache", type=Path, default=Path("runs/eve"), help="trained inverse networks, reused")
    p.add_argument("--glassbox-iterations", type=int, default=200,
                   help="gradient steps per image (faster: 100 with --glassbox-lr 0.1)")
    p.add_argument("--glassbox-lr", type=float, default=0.05)
    p.add_argument("--glassbox-tv", type=float, default=1.0, help="total variation prior weight")
    p.add_argument("--genai-iterations", type=int, default=200)
    p.add_argument("--genai-restarts", type=int, default=2)
    p.add_argument("--generator", default="face-gan-celeba64", help="Eve's face generator (manifest name)")


def _strategies_and_budgets(args) -> tuple[list[str], list[int | None]]:
    from .attacks import parse_strategies
    try:
        strategies = parse_strategies(args.strategies)
    except ValueError as e:
        raise SystemExit(str(e))
    return strategies, [None if q == "all" else int(q) for q in args.queries]


def _eve_setup(args):
    from .attacks.eve import EveSetup
    from .attacks.glassbox import GenAIGlassBoxConfig, GlassBoxConfig
    from .train.eve import EveTrainConfig
    return EveSetup(
        glassbox=GlassBoxConfig(iterations=args.glassbox_iterations, lr=args.glassbox_lr, tv=args.glassbox_tv),
        genai_glassbox=GenAIGlassBoxConfig(iterations=args.genai_iterations, restarts=args.genai_restarts),
        train=EveTrainConfig(steps=args.eve_steps, channel=args.channel, fading=args.fading),
        generator=args.generator, cache=args.eve_cache, seed=args.seed)


def _eval_paradigms(args) -> None:
    from . import attack_eval, face, paradigms, steganalysis, stego_eval
    from .attacks.eve import Eve
    from .keys import Stego
    from .runtime import Codec
    strategies, budgets = _strategies_and_budgets(args)
    codec = Codec(args.model)
    keyed = [Stego(k) for k in args.keys]
    for stego in keyed:
        stego.check_codec(codec)
    root = evaluate.data_root(args)
    images = evaluate.images_from_args(args, codec.resolution)
    chan = evaluate.channel_from_args(args)
    analyst = data.load_folder(root, codec.resolution, split="train", limit=args.train_images, progress=True)
    analyst_test = data.load_folder(root, codec.resolution, split="test", limit=args.test_images, progress=True)
    public, public_desc = _eve_public_faces(args, codec, images, root)
    recognizer = face.Recognizer()
    victims = attack_eval.victims(images, root, recognizer, True, args.seed)
    operating = face.operating_point(recognizer, *attack_eval.original_faces(victims, None), seed=args.seed)
    results = []
    for stego in keyed:
        name = stego.path.stem
        print(f"--- {stego.paradigm}: key {stego.path.name}")
        timed = (paradigms.timed_training(stego, root, args.time_steps, args.time_images, args.time_batch, args.seed)
                 if args.time_steps else None)
        quality = stego_eval.eval_stego(codec, stego, images, root, chan, args.snr, args.seed, args.batch)
        capacity = paradigms.capacity(codec, stego, images, root, chan, args.snr, seed=args.seed, batch=args.batch)
        signals = (steganalysis.clean_signals(codec, stego, analyst, args.seed),
                   steganalysis.clean_signals(codec, stego, analyst_test, args.seed + 1))
        latent = tuple(stego.meta["config"]["latent"])
        detection = [steganalysis.detection_accuracy(*signals, latent, chan, s, args.epochs, seed=args.seed) for s in args.snr]
        eve = Eve(codec, public, _eve_setup(args), stego)
        attacks, _ = attack_eval.eval_attacks(codec, eve, strategies, budgets, victims, recognizer, None, chan, args.snr,
                                              args.seed, None, stego)
        recorded = stego.meta.get("training", {})
        results.append({
            "paradigm": stego.paradigm, "key": name, "parameters": stego.meta["parameters"],
            "training": {"recorded": {k: recorded.get(k) for k in ("steps", "minutes", "seconds_per_step", "device", "images",
                                                                   "discriminator_parameters")},
                         "timed": timed},
            "capacity": capacity, "quality": quality, "steganalysis": detection,
            "attacks": [{"snr_db": r["snr_db"], "bob": r["bob"], "strategies": r["strategies"]} for r in attacks]})
    what = f"{chan.kind}, {len(victims.sent)} (host, private) pairs of {root.name}"
    for snr in args.snr:
        print(f"\nat {snr:g} dB ({what}):\n" + paradigms.table(results, snr))
    payload = {"channel": chan.kind, "codec": codec.name, "data": str(root), "split": args.split, "pairs": len(victims.sent),
               "eve_data": public_desc, "recognizer": operating, "capacity_margin_db": paradigms.CAPACITY_MARGIN_DB,
               "steganalysis_images": {"train": len(analyst), "test": len(analyst_test)}, "steganalysis_epochs": args.epochs,
               "results": results}
    evaluate.write_json(args.json, payload)
    if args.json is not None:
        md = args.json.with_suffix(".md")
        md.write_text("\n\n".join(f"## {snr:g} dB, {what}\n\n" + paradigms.table(results, snr) for snr in args.snr) + "\n")
        print(f"wrote {md}")
        paradigms.plot(args.json.with_suffix(".png"), results, what)


def _eve_public_faces(args, codec, victims: data.ImageSet, root: Path):
    """Eve's own faces: --eve-data, else the train split of the development set; never a victim's person."""
    eve_root = args.eve_data or data.default_data_dir()
    if eve_root is None:
        raise SystemExit("Eve needs public faces: give --eve-data DIR (people other than the victims)")
    split = args.eve_split if args.eve_split != "all" else None
    public = data.load_folder(eve_root, codec.resolution, split=split, limit=args.eve_limit, progress=True)
    from .stego_eval import identities
    same_root = Path(eve_root).resolve() == Path(root).resolve()
    if same_root or data.read_identities(Path(eve_root)):
        overlap = set(identities(public, Path(eve_root))) & set(identities(victims, Path(root)))
        if overlap:
            raise SystemExit(f"Eve's faces ({eve_root}, split {args.eve_split}) share {len(overlap)} people with the "
                             f"victims ({root}, split {args.split}); evaluate --split test, or give --eve-data with other people")
    return public, f"{len(public)} faces of {Path(eve_root).name} (split {args.eve_split}), no victim among them"


def _bench(args) -> None:
    from .bench import run
    run(args.model, args.batch, args.repeats)


def _monitor(args) -> None:
    from . import monitor
    if args.jsonl:
        print(monitor.read_jsonl(args.jsonl).table())
        return
    if not args.address:
        raise SystemExit("give the metrics sinks' ZMQ addresses (e.g. tcp://127.0.0.1:5599) or --jsonl FILES")
    monitor.follow(args.address, args.seconds, args.every)


def _demo(args) -> None:
    from .demo import run
    run(args.model, args.out, args.snr, args.channel, args.seed, args.key, args.covert_snr)


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

    t = train.add_parser("stego", help="train a stego key (INN, CNN or GAN paradigm) on top of a frozen codec")
    t.add_argument("--data", type=Path, default=None, help="image folder (default: $SEMCOM_DATA or ../shared/data/celeba-10k)")
    t.add_argument("--out", type=Path, default=Path("keys/private.key"),
                   help="the key file to write (owner-only; keep it out of git: keys/ is ignored)")
    t.add_argument("--codec", default=evaluate.DEFAULT_CODEC, help="codec name in models/manifest.json (frozen)")
    t.add_argument("--paradigm", choices=["inn", "cnn", "gan"], default="inn",
                   help="invertible network (first paper), CNN embedding/extraction pair, or that pair trained "
                        "against two discriminators (second paper, Sec. III)")
    t.add_argument("--samples", type=int, default=1000, help="training images (0: the whole train split)")
    t.add_argument("--steps", type=int, default=1500)
    t.add_argument("--batch", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--weights", type=float, nargs=5, default=[1.0, 2.0, 2.0, 1.0, 1.0], metavar="L",
                   help="lambda 1..5: container, lost information, Bob's host, Bob's private, private image")
    t.add_argument("--channel", choices=["awgn", "rayleigh", "mixed"], default="mixed")
    t.add_argument("--fading", choices=["block", "fast"], default="block")
    t.add_argument("--snr-range", type=float, nargs=2, default=[0.0, 20.0], metavar=("MIN", "MAX"))
    t.add_argument("--lost", choices=["zero", "gaussian"], default="zero",
                   help="Bob's estimate of the lost information: zeros, or a N(0, 1/2) sample per part")
    t.add_argument("--adversarial", type=float, default=None,
                   help="weight of fooling the discriminator of received signals (default 0.1 for gan, else 0: off)")
    t.add_argument("--image-adversarial", type=float, default=None,
                   help="weight of fooling the discriminator of decoded images (default 0.1 for gan, else 0: off)")
    t.add_argument("--blocks", type=int, default=8, help="INN: invertible blocks")
    t.add_argument("--hidden", type=int, default=64, help="width of the INN's coupling networks or of the CNN pair")
    t.add_argument("--layers", type=int, default=4, help="CNN / GAN: convolutions per network")
    t.add_argument("--seed", type=int, default=0, help="a different seed makes a different key")
    t.add_argument("--max-minutes", type=float, default=None, help="stop after the step that passes this time")
    t.add_argument("--resume", action="store_true", help="continue from OUT with suffix .ckpt")
    t.add_argument("--demo", action="store_true", help="mark the key as a public demo key (for models/)")
    t.add_argument("--init", type=Path, default=None, help="start from this key's model (fine-tuning)")
    t.set_defaults(func=_train_stego)

    t = train.add_parser("generator", help="train Eve's face generator (GAN) on the train split's public faces")
    t.add_argument("--data", type=Path, default=None, help="image folder (default: $SEMCOM_DATA or ../shared/data/celeba-10k)")
    t.add_argument("--out", type=Path, default=Path("runs/generator"), help="checkpoint folder")
    t.add_argument("--steps", type=int, default=20000)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, default=None, help="first N training images only (smoke runs)")
    t.add_argument("--max-minutes", type=float, default=None, help="stop after the step that passes this time")
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--latent", type=int, default=128, help="size of z")
    t.add_argument("--width", type=int, default=256, help="channels at 4x4, halved per stage down to 32")
    t.set_defaults(func=_train_generator)

    t = train.add_parser("eve", help="train Eve's closed-box inverse network on queries of Alice's transmitter")
    t.add_argument("--strategy", choices=["closedbox", "genai-closedbox", "adaptive-closedbox"], default="closedbox")
    t.add_argument("--queries", default="1000", help="query budget, a number or 'all'")
    t.add_argument("--data", type=Path, default=None, help="Eve's public faces (default: the development set)")
    t.add_argument("--split", choices=["train", "test", "all"], default="train",
                   help="which split of --data is Eve's (default train: the victims are the test split's people)")
    t.add_argument("--limit", type=int, default=None)
    t.add_argument("--model", default=evaluate.DEFAULT_CODEC, help="Alice's codec (manifest name)")
    t.add_argument("--stego", action="store_true", help="Alice's transmitter hides images with --key")
    t.add_argument("--key", default="stego-inn-demo")
    t.add_argument("--channel", choices=["awgn", "rayleigh", "mixed"], default="awgn")
    t.add_argument("--steps", type=int, default=1500)
    t.add_argument("--generator", default="face-gan-celeba64")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", type=Path, default=Path("runs/eve"), help="folder of trained inverse networks")
    t.set_defaults(func=_train_eve)

    export = sub.add_parser("export", help="export to ONNX with a parity check").add_subparsers(dest="what", required=True)
    e = export.add_parser("codec")
    e.add_argument("--checkpoint", type=Path, required=True, help="codec.pt written by 'semcom train codec'")
    e.add_argument("--name", default=evaluate.DEFAULT_CODEC)
    e.add_argument("--out", type=Path, default=None, help="models folder (default: the project's models/)")
    e.add_argument("--data", type=Path, default=None, help="real images for the parity check (default: sample portraits)")
    e.add_argument("--split", choices=["train", "test"], default=None)
    e.set_defaults(func=_export_codec)

    e = export.add_parser("generator", help="Eve's face generator to ONNX, with a sample grid")
    e.add_argument("--checkpoint", type=Path, required=True, help="generator.pt written by 'semcom train generator'")
    e.add_argument("--name", default="face-gan-celeba64")
    e.add_argument("--out", type=Path, default=None, help="models folder (default: the project's models/)")
    e.set_defaults(func=_export_generator)

    e = export.add_parser("stego", help="ship a demo key (trained with --demo) in the models folder")
    e.add_argument("--key", type=Path, required=True, help="key file written by 'semcom train stego --demo'")
    e.add_argument("--name", default=None, help="manifest name (default: stego-PARADIGM-demo)")
    e.add_argument("--out", type=Path, default=None, help="models folder (default: the project's models/)")
    e.set_defaults(func=_export_stego)

    quant = sub.add_parser("quantize", help="int8 copies of a codec or a stego key, for CPU radios").add_subparsers(
        dest="what", required=True)
    q = quant.add_parser("codec", help="NAME-int8 beside the float codec, in the manifest")
    q.add_argument("--model", default=evaluate.DEFAULT_CODEC, help="float codec in the manifest")
    q.add_argument("--name", default=None, help="manifest name of the copy (default: MODEL-int8)")
    q.add_argument("--out", type=Path, default=None, help="models folder (default: the project's models/)")
    q = quant.add_parser("key", help="an int8 copy of a stego key")
    q.add_argument("--key", default="stego-inn-demo", help="key file or manifest name")
    q.add_argument("--model", default=evaluate.DEFAULT_CODEC, help="the codec the key works with")
    q.add_argument("--out", type=Path, required=True, help="the new key file (owner-only, like every key)")
    for q, handler in ((quant.choices["codec"], _quantize_codec), (quant.choices["key"], _quantize_key)):
        q.add_argument("--data", type=Path, default=None, help="calibration images (default: $SEMCOM_DATA)")
        q.add_argument("--split", choices=["train", "test"], default="train")
        q.add_argument("--limit", type=int, default=512, help="calibration images")
        q.add_argument("--seed", type=int, default=0)
        q.set_defaults(func=handler)

    ev = sub.add_parser("eval", help="evaluate over the channel").add_subparsers(dest="what", required=True)
    c = ev.add_parser("codec", help="DeepJSCC through ONNX Runtime")
    evaluate.add_common_options(c)
    c.add_argument("--record", action="store_true", help="store the results as the model's metrics in the manifest")
    c.set_defaults(func=_eval_codec)
    b = ev.add_parser("baseline", help="JPEG and WebP at the capacity of the same channel uses")
    evaluate.add_common_options(b)
    b.add_argument("--plot", type=Path, default=None, help="PNG of PSNR vs SNR: DeepJSCC, JPEG, WebP")
    b.set_defaults(func=_eval_baseline)

    st = ev.add_parser("stego", help="covert communication: Bob and Eve against plain DeepJSCC")
    evaluate.add_common_options(st)
    st.add_argument("--key", default="stego-inn-demo",
                    help="stego key file, or a key's name in models/manifest.json (default: the public demo key)")
    st.add_argument("--wrong-key", default=None, help="also extract with this other key (it must not recover the private image)")
    st.add_argument("--plot", type=Path, default=None, help="PNG of PSNR and MS-SSIM vs SNR (the paper's Figs. 7-8)")
    st.add_argument("--record", action="store_true", help="store the results as the key's metrics in the manifest")
    st.set_defaults(func=_eval_stego)

    sa = ev.add_parser("steganalysis", help="how well a trained classifier tells containers from plain signals")
    evaluate.add_common_options(sa)
    sa.add_argument("--key", default="stego-inn-demo", help="stego key file or manifest name")
    sa.add_argument("--train-images", type=int, default=3000, help="images of the train split for the analyst")
    sa.add_argument("--epochs", type=int, default=30)
    sa.set_defaults(func=_eval_steganalysis)

    at = ev.add_parser("attacks", help="eavesdroppers (glass-box, closed-box, GenAI) judged by a face recognizer")
    evaluate.add_common_options(at)
    at.add_argument("--stego", action="store_true", help="covert communication on: Eve is after the hidden private image")
    at.add_argument("--key", default="stego-inn-demo", help="with --stego: Alice and Bob's key (file or manifest name)")
    _add_eve_options(at, ",".join(PAPER_STRATEGIES))
    at.add_argument("--plots", type=Path, default=None,
                    help="prefix of the PNGs (curves, FPESR bars, image grid); default: --json without .json")
    at.set_defaults(func=_eval_attacks)

    pa = ev.add_parser("paradigms", help="INN, CNN and GAN steganography side by side (Table II of the second paper)")
    evaluate.add_common_options(pa)
    pa.add_argument("--keys", nargs="+", default=list(DEMO_KEYS.values()),
                    help="stego keys (files or manifest names), one per paradigm (default: the three demo keys)")
    pa.add_argument("--train-images", type=int, default=3000, help="images of the train split for the steganalyser")
    pa.add_argument("--test-images", type=int, default=None,
                    help="images of the test split for the steganalyser's held-out signals (default: all)")
    pa.add_argument("--epochs", type=int, default=30, help="steganalyser training epochs")
    pa.add_argument("--time-steps", type=int, default=10,
                    help="training steps timed per paradigm on this machine, same data and batch (0: skip)")
    pa.add_argument("--time-images", type=int, default=256, help="training images of the timed runs")
    pa.add_argument("--time-batch", type=int, default=128, help="batch of the timed runs (the demo keys': 128)")
    _add_eve_options(pa, ",".join(STRATEGIES))
    pa.set_defaults(func=_eval_paradigms)

    bench = sub.add_parser("bench", help="throughput of the codec: ONNX Runtime vs torch, and the compute bound")
    bench.add_argument("--model", default=evaluate.DEFAULT_CODEC)
    bench.add_argument("--batch", type=int, default=64)
    bench.add_argument("--repeats", type=int, default=5)
    bench.set_defaults(func=_bench)

    mon = sub.add_parser("monitor", help="Bob's and Eve's live figures from the flowgraphs' metrics sinks")
    mon.add_argument("address", nargs="*", help="ZMQ PUB addresses of metrics sinks, e.g. tcp://127.0.0.1:5599")
    mon.add_argument("--jsonl", type=Path, nargs="+", help="summarise metrics sinks' JSON lines files instead")
    mon.add_argument("--seconds", type=float, default=0.0, help="stop after this long (0: until Ctrl-C)")
    mon.add_argument("--every", type=float, default=1.0, help="seconds between tables")
    mon.set_defaults(func=_monitor)

    demo = sub.add_parser("demo", help="send the sample portraits through the codec and the channel, plainly and covertly")
    demo.add_argument("--model", default=evaluate.DEFAULT_CODEC)
    demo.add_argument("--out", type=Path, default=Path("demo-out"))
    demo.add_argument("--snr", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    demo.add_argument("--channel", choices=["awgn", "rayleigh"], default="awgn")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--key", default="stego-inn-demo", help="stego key for the covert panel (file or manifest name)")
    demo.add_argument("--covert-snr", type=float, default=10.0, help="SNR of the covert panel in dB")
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
