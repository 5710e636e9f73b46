"""``make bench``: codec throughput on ONNX Runtime and torch eager, and the share of the machine's
compute bound it reaches, all measured in one run."""
from __future__ import annotations

import time

import numpy as np
import torch

from . import runtime
from .channel import to_iq
from .quantize import SUFFIX
from .nn.layers import GDN
from .train.codec import load_jscc


def _best_rate(fn, items: int, repeats: int) -> float:
    fn()  # warm-up: allocations, kernel selection
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return items / best


def flops_per_image(module: torch.nn.Module, *inputs: torch.Tensor) -> float:
    """2 x multiply-accumulates of every convolution, linear layer and GDN (a 1x1 conv), per image."""
    total = 0

    def hook(layer, _inp, out):
        nonlocal total
        if isinstance(layer, torch.nn.Conv2d):
            total += 2 * out.numel() * layer.weight[0].numel()
        elif isinstance(layer, torch.nn.Linear):
            total += 2 * out.numel() * layer.in_features
        else:
            total += 2 * out.numel() * out.shape[1]

    counted = (torch.nn.Conv2d, torch.nn.Linear, GDN)
    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, counted)]
    with torch.no_grad():
        module(*inputs)
    for h in handles:
        h.remove()
    return total / inputs[0].shape[0]


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return _best_rate(lambda: torch.mm(a, b), 2 * n ** 3, repeats) / 1e9


def int8_matmul_gops(n: int = 2048, repeats: int = 5) -> float:
    """uint8 x int8 -> int32 matmul on ONNX Runtime (MatMulInteger, the kernel family the int8
    copies' convolutions run on), in GOP/s: the bound for the int8 chain."""
    from onnx import TensorProto, helper
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["c"])], "int8_matmul",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [n, n]),
         helper.make_tensor_value_info("b", TensorProto.INT8, [n, n])],
        [helper.make_tensor_value_info("c", TensorProto.INT32, [n, n])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    session = runtime.session(model.SerializeToString())
    rng = np.random.default_rng(0)
    feeds = {"a": rng.integers(0, 256, (n, n), dtype=np.uint8), "b": rng.integers(-128, 128, (n, n), dtype=np.int8)}
    return _best_rate(lambda: session.run(None, feeds), 2 * n ** 3, repeats) / 1e9


def run(model_name: str, batch: int = 64, repeats: int = 5) -> dict:
    codec = runtime.Codec(model_name)
    model, _ = load_jscc(runtime.checkpoint_path(model_name))
    h, w = codec.resolution
    rng = np.random.default_rng(0)
    x = rng.random((batch, 3, h, w), dtype=np.float32)
    symbols = codec.encode(x)
    snr = np.full((batch, 1), 10.0, np.float32)
    xt, st, snrt = torch.from_numpy(x), torch.from_numpy(to_iq(symbols)), torch.from_numpy(snr)

    with torch.no_grad():
        rates = {
            ("encoder", "onnxruntime"): _best_rate(lambda: codec.encode(x), batch, repeats),
            ("encoder", "torch"): _best_rate(lambda: model.encoder(xt), batch, repeats),
            ("decoder", "onnxruntime"): _best_rate(lambda: codec.decode(symbols, snr), batch, repeats),
            ("decoder", "torch"): _best_rate(lambda: model.decoder(st, snrt), batch, repeats),
        }
    flops = {"encoder": flops_per_image(model.encoder, xt), "decoder": flops_per_image(model.decoder, st, snrt)}
    bound = matmul_gflops(repeats=repeats)
    print(f"{model_name}, batch {batch}, {torch.get_num_threads()} threads; matmul 2048^3: {bound:.1f} GFLOP/s")
    print(f"{'part':8} {'MFLOP/img':>10} {'ORT img/s':>10} {'torch img/s':>12} {'ORT/torch':>10} {'ORT % of bound':>15}")
    report = {"matmul_gflops": bound, "batch": batch, "parts": {}}
    for part in ("encoder", "decoder"):
        ort_rate, torch_rate = rates[(part, "onnxruntime")], rates[(part, "torch")]
        share = flops[part] * ort_rate / (bound * 1e9)
        report["parts"][part] = {"mflops_per_image": flops[part] / 1e6, "onnxruntime_img_s": ort_rate,
                                 "torch_img_s": torch_rate, "ort_over_torch": ort_rate / torch_rate,
                                 "fraction_of_bound": share}
        print(f"{part:8} {flops[part] / 1e6:10.1f} {ort_rate:10.1f} {torch_rate:12.1f} "
              f"{ort_rate / torch_rate:10.2f} {100 * share:14.1f}%")
    int8_name = model_name + SUFFIX
    if int8_name in runtime.read_manifest()["models"]:
        report["int8"] = _int8_rates(int8_name, x, symbols, snr, flops, report, repeats)
    return report


def _int8_rates(name: str, x, symbols, snr, flops: dict, report: dict, repeats: int) -> dict:
    """The int8 copy's parts on the same inputs, against the float parts and an int8 matmul."""
    codec = runtime.Codec(name)
    rates = {"encoder": _best_rate(lambda: codec.encode(x), len(x), repeats),
             "decoder": _best_rate(lambda: codec.decode(symbols, snr), len(x), repeats)}
    bound = int8_matmul_gops(repeats=repeats)
    print(f"{name}, same batch; uint8 x int8 matmul 2048^3: {bound:.1f} GOP/s")
    print(f"{'part':8} {'ORT img/s':>10} {'int8/float':>11} {'% of int8 bound':>16}")
    out = {"matmul_gops": bound, "parts": {}}
    for part, rate in rates.items():
        share = flops[part] * rate / (bound * 1e9)
        speedup = rate / report["parts"][part]["onnxruntime_img_s"]
        out["parts"][part] = {"onnxruntime_img_s": rate, "over_float": speedup, "fraction_of_bound": share}
        print(f"{part:8} {rate:10.1f} {speedup:11.2f} {100 * share:15.1f}%")
    return out

