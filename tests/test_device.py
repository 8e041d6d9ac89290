"""``lnfmusic.device``: resolving ``auto``/``cpu``/``cuda[:N]`` (CUDA availability patched),
one-line errors for anything else, the machine description, and ``synchronize``."""

from __future__ import annotations

import pytest
import torch

from lnfmusic.device import describe_device, resolve_device, synchronize
from lnfmusic.errors import LnfError


@pytest.fixture
def no_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_is_cpu_without_cuda(no_cuda: None) -> None:
    assert resolve_device("auto") == "cpu"


def test_auto_is_cuda_with_cuda(two_gpus: None) -> None:
    assert resolve_device("auto") == "cuda"


@pytest.mark.parametrize("fixture", ["no_cuda", "two_gpus"])
def test_cpu_is_cpu(fixture: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(fixture)
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_without_cuda_is_an_error(name: str, no_cuda: None) -> None:
    with pytest.raises(LnfError) as info:
        resolve_device(name)
    assert str(info.value) == f"device {name!r}: CUDA is not available on this machine"


@pytest.mark.parametrize("name", ["cuda", "cuda:0", "cuda:1"])
def test_cuda_devices_that_exist(name: str, two_gpus: None) -> None:
    assert resolve_device(name) == name


@pytest.mark.parametrize("name", ["cuda:2", "cuda:x", "cuda:", "cuda:-1", "cuda:0:1"])
def test_cuda_devices_that_do_not_exist(name: str, two_gpus: None) -> None:
    with pytest.raises(LnfError, match="no such CUDA device") as info:
        resolve_device(name)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "name", ["gpu", "GPU", "CPU", "", " cpu", "mps", "cudax", "cuda0", "auto ", "cpu\nx"]
)
@pytest.mark.parametrize("fixture", ["no_cuda", "two_gpus"])
def test_junk_is_a_one_line_error(name: str, fixture: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(fixture)
    with pytest.raises(LnfError) as info:
        resolve_device(name)
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("expected auto, cpu or cuda[:N]")
    assert message.startswith("device ")


def test_cuda_x_without_cuda_is_an_error(no_cuda: None) -> None:
    with pytest.raises(LnfError, match="CUDA is not available"):
        resolve_device("cuda:x")


def test_describe_cpu_mentions_cpu_cores_and_threads() -> None:
    torch.set_num_threads(1)  # the autouse fixture restores it
    text = describe_device("cpu")
    assert text.startswith("CPU ")
    assert "\n" not in text
    assert "torch threads 1" in text
    assert "cores" in text
    assert describe_device(torch.device("cpu")) == text


def test_describe_cpu_follows_the_thread_count() -> None:
    torch.set_num_threads(2)
    assert describe_device("cpu").endswith("torch threads 2")


def test_synchronize_on_cpu_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise AssertionError("cuda synchronize called for the CPU")

    monkeypatch.setattr(torch.cuda, "synchronize", boom)
    assert synchronize("cpu") is None
    assert synchronize(torch.device("cpu")) is None


def test_synchronize_on_cuda_waits_on_that_device(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(device))
    synchronize("cuda:1")
    assert calls == [torch.device("cuda:1")]


def test_processes_from_the_launcher_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from lnfmusic.device import Processes, current_processes, launched_processes

    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert launched_processes() == Processes() and Processes().main
    assert not Processes().distributed and current_processes() == Processes()
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    p = launched_processes()
    assert (p.rank, p.world_size, p.local_rank, p.local_world_size) == (3, 4, 1, 2)
    assert p.distributed and not p.main
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(LnfError, match="WORLD_SIZE"):
        launched_processes()


def test_one_process_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch.distributed as dist

    from lnfmusic.device import Processes, start_processes, stop_processes

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert start_processes("cpu") == (Processes(), "cpu")
    assert not dist.is_initialized()
    stop_processes()  # nothing to leave: no error
