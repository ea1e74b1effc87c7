"""Device choice and the out-of-memory fall-back (engines/devices.py)."""

from __future__ import annotations

import pytest
import torch

from protein_studio.core.errors import UserError
from protein_studio.models.devices import (device_description, move_loaded_model, run_with_oom_fallback,
                                            select_device)
from protein_studio.core.job_context import JobContext
from protein_studio.models.spec import LoadedModel, ModelSpec


def test_select_device():
    assert select_device("cpu") == torch.device("cpu")
    auto = select_device("auto")
    if torch.cuda.is_available():
        assert auto.type == "cuda"
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        assert auto.type == "mps"
    else:
        assert auto == torch.device("cpu")
    with pytest.raises(UserError, match="unknown device 'tpu'"):
        select_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cuda_request_without_gpu_is_a_user_error():
    with pytest.raises(UserError, match="no CUDA GPU"):
        select_device("cuda")


def test_device_description_for_the_cpu():
    assert device_description("cpu").startswith("CPU (")


def _oom():
    return torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_halves_the_batch_then_moves_to_the_cpu():
    calls = []

    def work(batch_size, device):
        calls.append((batch_size, device.type))
        if device.type != "cpu":
            raise _oom()
        return "done"

    ctx = JobContext()
    assert run_with_oom_fallback(work, 8, torch.device("meta"), ctx) == "done"
    assert calls == [(8, "meta"), (4, "meta"), (2, "meta"), (1, "meta"), (8, "cpu")]
    assert len(ctx.warnings) == 4 and "CPU" in ctx.warnings[-1]


def test_success_after_a_smaller_batch_and_other_errors_propagate():
    def work(batch_size, device):
        if batch_size > 2:
            raise RuntimeError("MPS backend out of memory (MPS allocated: 9 GB)")
        return batch_size

    ctx = JobContext()
    assert run_with_oom_fallback(work, 5, torch.device("meta"), ctx) == 2
    assert len(ctx.warnings) == 1 and "batch size 2" in ctx.warnings[0]

    def broken(batch_size, device):
        raise ValueError("not memory")

    with pytest.raises(ValueError):
        run_with_oom_fallback(broken, 4, torch.device("meta"), JobContext())

    def cpu_oom(batch_size, device):
        raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):  # nothing smaller to fall back to on the CPU
        run_with_oom_fallback(cpu_oom, 4, torch.device("cpu"), JobContext())


def test_move_loaded_model_to_cpu_makes_half_precision_float32():
    model = torch.nn.Linear(3, 2).to(torch.bfloat16)
    spec = ModelSpec("m", "esm2", "scoring", 8, 0, "MIT")
    loaded = LoadedModel(spec, model, torch.device("cpu"), torch.bfloat16)
    move_loaded_model(loaded, "cpu")
    assert loaded.dtype == torch.float32 and model.weight.dtype == torch.float32
    assert loaded.device == torch.device("cpu")
