"""Builders shared by the tests: small configs, batches, synthetic datasets, tiny trained
checkpoints, a local HTTP server. Plain functions (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import functools
import http.server
import pickle
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from lnfmusic.config import RunConfig, preset
from lnfmusic.data.batching import Batch, make_batch
from lnfmusic.data.dataset import SequenceDataset, load_dataset
from lnfmusic.model.config import ModelConfig

# ----------------------------------------------------------------------------------------
# Models and batches


def tiny_config(model: str = "af-af", kind: str = "music", vocab: int = 5) -> ModelConfig:
    """The tiny preset's model with the data fields filled in; 2 LSTM layers, no dropout."""
    cfg = preset("tiny", kind, model).model
    cfg.num_layers = 2
    cfg.dropout = cfg.prior_dropout = 0.0
    cfg.data_kind = kind
    cfg.output_dim = 88 if kind == "music" else vocab
    cfg.max_length = 16
    return cfg


def random_seqs(
    lengths: list[int], kind: str = "music", vocab: int = 5, seed: int = 0
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    if kind == "music":
        return [(rng.random((n, 88)) < 0.1).astype(np.uint8) for n in lengths]
    return [rng.integers(0, vocab, n).astype(np.int64) for n in lengths]


def random_batch(
    lengths: list[int],
    kind: str = "music",
    vocab: int = 5,
    seed: int = 0,
    dtype: torch.dtype = torch.float64,
) -> Batch:
    batch = make_batch(random_seqs(lengths, kind, vocab, seed))
    if kind == "music":
        batch.x = batch.x.to(dtype)
    return batch


# ----------------------------------------------------------------------------------------
# Synthetic datasets and tiny runs


def synthetic_music(n_train: int = 24, n_valid: int = 8, seed: int = 0) -> SequenceDataset:
    """Pieces cycling through three chords (with a little noise), lengths 6..12."""
    rng = np.random.default_rng(seed)
    chords = [[39, 43, 46], [41, 44, 48], [38, 43, 46]]

    def piece() -> np.ndarray:
        T = int(rng.integers(6, 13))
        roll = np.zeros((T, 88), dtype=np.uint8)
        start = int(rng.integers(0, 3))
        for t in range(T):
            roll[t, chords[(start + t) % 3]] = 1
        roll[rng.random((T, 88)) < 0.01] = 1
        return roll

    splits = {
        "train": [piece() for _ in range(n_train)],
        "valid": [piece() for _ in range(n_valid)],
        "test": [piece() for _ in range(n_valid)],
    }
    meta = {"pitch_offset": 21, "num_pitches": 88, "steps_per_beat": 2}
    return SequenceDataset("synthetic", "music", splits, meta, "synthetic")


def synthetic_text(n_train: int = 24, n_valid: int = 8, seed: int = 0) -> SequenceDataset:
    rng = np.random.default_rng(seed)
    chars = ["_", "a", "b", "c"]

    def line() -> np.ndarray:
        return np.array([(t % 3) + 1 if t % 4 else 0 for t in range(int(rng.integers(4, 10)))])

    splits = {
        "train": [line() for _ in range(n_train)],
        "valid": [line() for _ in range(n_valid)],
        "test": [line() for _ in range(n_valid)],
    }
    return SequenceDataset("synthetic-text", "text", splits, {"vocab": chars}, "synthetic")


def tiny_run(model: str = "af-af", kind: str = "music", epochs: int = 2) -> RunConfig:
    config = preset("tiny", kind, model)
    config.train.epochs = epochs
    config.train.batch_size = 8
    return config


JSB_COUNTS = {"train": 229, "valid": 76, "test": 77}

# ----------------------------------------------------------------------------------------
# Dataset files and tiny trained checkpoints


def write_jsb_like(folder: Path, seed: int = 0) -> Path:
    """A ``jsb_chorales.pickle`` with JSB's split sizes but short random 4-voice pieces."""
    rng = np.random.default_rng(seed)
    data = {}
    for split, n in JSB_COUNTS.items():
        pieces = []
        for _ in range(n):
            T = int(rng.integers(4, 12))
            root = int(rng.integers(48, 60))
            pieces.append(
                [
                    tuple(
                        int(p)
                        for p in root + rng.choice([0, 4, 7, 12], 3) + int(rng.integers(0, 3))
                    )
                    for _ in range(T)
                ]
            )
        data[split] = pieces
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "jsb_chorales.pickle", "wb") as f:
        pickle.dump(data, f)
    return folder


def write_text_lines(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran"]
    lines = [" ".join(rng.choice(words, int(rng.integers(2, 5)))) for _ in range(60)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_tiny(spec: str, model: str, run_dir: Path, data_dir: Path | None = None) -> Path:
    """Train ``model`` (tiny preset, one epoch) on dataset ``spec``; returns ``last.pt``."""
    from lnfmusic.train.loop import fit

    data = load_dataset(spec, data_dir)
    data.splits["train"], data.splits["valid"] = data.splits["train"][:24], data.splits["valid"][:8]
    config = preset("tiny", data.kind, model)
    config.train.epochs = 1
    summary = fit(config, data, run_dir, progress=False)
    return Path(summary["last"])


# ----------------------------------------------------------------------------------------
# A local HTTP server (downloads are tested against 127.0.0.1 only)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


def start_server(folder: Path, request: pytest.FixtureRequest) -> str:
    """Serve ``folder`` on 127.0.0.1 (a free port) until the test ends; the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    request.addfinalizer(stop)
    return f"http://127.0.0.1:{server.server_address[1]}"
