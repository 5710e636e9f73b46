"""Eve's differentiable copy of Alice's encoder, built from the ONNX file that Alice's radio runs.

The glass-box eavesdropper has the encoder file, not the project's torch code. ``OnnxModule`` runs
the ONNX graph node by node with torch operations, so autograd reaches the input image; the weights
are the file's initializers, frozen. Only the operators a convolutional encoder exports to are
implemented, and the QDQ pairs of an int8 copy (``semcom.quantize``) as fake quantization; any other
operator is refused by name when the file is loaded, never at attack time.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def _conv(x, w, b=None, *, strides=(1, 1), pads=(0, 0, 0, 0), dilations=(1, 1), group=1, **_):
    if pads[:2] != pads[2:]:
        raise ValueError(f"asymmetric Conv padding {pads} is not supported")
    return F.conv2d(x, w, b, stride=tuple(strides), padding=tuple(pads[:2]), dilation=tuple(dilations), groups=group)


def _axes(args, attrs):
    return [int(a) for a in (args[1].tolist() if len(args) > 1 else attrs.get("axes", []))]


def _reduce(fn):
    def op(*args, keepdims=1, **attrs):
        axes = _axes(args, attrs) or list(range(args[0].dim()))
        return fn(args[0], dim=axes, keepdim=bool(keepdims))
    return op


def _unsqueeze(*args, **attrs):
    x = args[0]
    for a in sorted(a % (x.dim() + 1) for a in _axes(args, attrs)):
        x = x.unsqueeze(a)
    return x


def _reshape(x, shape, allowzero=0):
    shape = [int(s) for s in shape.tolist()]
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _per_axis(v, x, axis):
    """A per-tensor scale or zero point as is; a per-channel one shaped to broadcast along ``axis``."""
    if v.dim() == 0:
        return v
    shape = [1] * x.dim()
    shape[axis] = -1
    return v.reshape(shape)


def _quantize(x, scale, zero_point=None, axis=1, **_):
    """QuantizeLinear as fake quantization: the integer grid values as floats, with the gradient of
    the identity through the rounding (straight-through), so Eve can attack an int8 encoder too.
    Without a zero point the grid is uint8 from 0, as ONNX defines it."""
    info = torch.iinfo(torch.uint8 if zero_point is None else zero_point.dtype)
    v = x / _per_axis(scale, x, axis)
    if zero_point is not None:
        v = v + _per_axis(zero_point, x, axis).float()
    return v + (torch.clamp(torch.round(v), info.min, info.max) - v).detach()


def _dequantize(x, scale, zero_point=None, axis=1, **_):
    x = x.float()
    if zero_point is not None:
        x = x - _per_axis(zero_point, x, axis).float()
    return x * _per_axis(scale, x, axis)


OPS = {
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b,
    "Pow": lambda a, b: a ** b,
    "Sqrt": torch.sqrt,
    "Relu": torch.relu,
    "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh,
    "PRelu": lambda x, slope: torch.where(x >= 0, x, x * slope),
    "LeakyRelu": lambda x, alpha=0.01: F.leaky_relu(x, alpha),
    "Conv": _conv,
    "Flatten": lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
    "Reshape": _reshape,
    "Unsqueeze": _unsqueeze,
    "Shape": lambda x: torch.tensor(x.shape, dtype=torch.int64),
    "Gather": lambda x, i, axis=0: torch.index_select(x, axis, i.reshape(-1)).reshape(
        x.shape[:axis] + i.shape + x.shape[axis + 1:]),
    "Concat": lambda *xs, axis: torch.cat(xs, dim=axis),
    "ReduceSum": _reduce(torch.sum),
    "ReduceMean": _reduce(torch.mean),
    "Identity": lambda x: x,
    "QuantizeLinear": _quantize,
    "DequantizeLinear": _dequantize,
}


class OnnxModule(nn.Module):
    """An ONNX graph as a torch module: ``forward(*inputs)`` returns the graph's first output."""

    def __init__(self, path: str | Path):
        super().__init__()
        import onnx
        from onnx import helper, numpy_helper
        model = onnx.load(str(path))
        graph = model.graph
        missing = sorted({n.op_type for n in graph.node if n.op_type not in OPS and n.op_type != "Constant"})
        if missing:
            raise ValueError(f"{path}: operators {', '.join(missing)} are not supported by Eve's ONNX interpreter")
        self.path = Path(path)
        self._names = {}
        for i, init in enumerate(graph.initializer):
            self.register_buffer(f"w{i}", torch.from_numpy(numpy_helper.to_array(init).copy()))
            self._names[init.name] = f"w{i}"
        initialized = set(self._names)
        self.inputs = [i.name for i in graph.input if i.name not in initialized]
        self.output = graph.output[0].name
        self._nodes = []
        for node in graph.node:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if node.op_type == "Constant":
                self.register_buffer(f"c{len(self._names)}", torch.from_numpy(numpy_helper.to_array(attrs["value"]).copy()))
                self._names[node.output[0]] = f"c{len(self._names)}"
                continue
            attrs = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in attrs.items()}
            self._nodes.append((node.op_type, list(node.input), node.output[0], attrs))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if len(inputs) != len(self.inputs):
            raise ValueError(f"{self.path.name} takes inputs {self.inputs}, got {len(inputs)} tensor(s)")
        env = {name: getattr(self, buffer) for name, buffer in self._names.items()}
        env.update(zip(self.inputs, inputs))
        for op, args, out, attrs in self._nodes:
            env[out] = OPS[op](*[env[a] for a in args if a], **attrs)
        return env[self.output]
