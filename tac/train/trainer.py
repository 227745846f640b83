"""Trainer: fit a post-filter by backpropagating through the frozen scorers.

    trainer = Trainer(model, TrainConfig(hidden=64, epochs=1000, alpha=20, tag="my_run"), device="cpu")
    result = trainer.fit(comp_pairs, gt_pairs, posenet, segnet, sal_weights)

Pairs are uint8 (N, 2, 874, 1164, 3): decoded frames and the originals. Each step filters the
decoded pair, round-trips it through uint8 (straight-through), and scores it against targets
computed once from the originals. QAT runs in every forward pass; an EMA and a tail SWA of the
weights are kept; the quantized EMA/SWA models are judged by the exact hard metric, and the best
is written as safetensors + JSON. The training state is saved as it goes, so `resume=True`
continues a run that was stopped.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from safetensors.torch import load_file, save

from tac import atomic
from tac.contest import constants as C
from tac.postfilter.checkpoint import save_checkpoint
from tac.quant.deploy import deployed_copy
from tac.quant.fake import enable_qat
from tac.train.averaging import ParameterAverage
from tac.train.config import TrainConfig
from tac.train.losses import (
    ScorerView,
    exact_distortion,
    feature_matching,
    saliency_reconstruction,
    scorer_loss,
    scorer_view,
    uint8_roundtrip,
)


@dataclass
class TrainResult:
    before: float  # 100·seg + √(10·pose) of the unfiltered frames
    best: float  # the same, for the best quantized model
    best_source: str  # "ema" | "swa" | "raw"
    best_step: int
    steps: int
    wall_s: float
    checkpoint: Path
    history: list[dict] = field(default_factory=list)


def _as_pairs(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x)) if not isinstance(x, torch.Tensor) else x
    if t.ndim != 5 or t.shape[1] != C.SEQ_LEN or t.shape[-1] != 3:
        raise ValueError(f"expected uint8 pairs (N, 2, H, W, 3), got {tuple(t.shape)}")
    return t


def filter_pairs(model: nn.Module, pairs: torch.Tensor) -> torch.Tensor:
    """uint8 pairs (B, 2, H, W, 3) → filtered float pairs (B, 2, 3, H, W), uint8-rounded (STE)."""
    b = pairs.shape[0]
    x = pairs.permute(0, 1, 4, 2, 3).float().reshape(b * C.SEQ_LEN, 3, *pairs.shape[2:4])
    return uint8_roundtrip(model(x)).reshape(b, C.SEQ_LEN, 3, *pairs.shape[2:4])


class Trainer:
    def __init__(
        self, model: nn.Module, config: TrainConfig | None = None, device: str = "cpu", **overrides
    ):
        self.config = TrainConfig.parse(**{**(config.model_dump() if config else {}), **overrides})
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.out_dir = Path(self.config.out_dir)
        self.telemetry_path = self.out_dir / f"{self.config.tag}.telemetry.jsonl"

    # --- public API --------------------------------------------------------------------------

    def fit(
        self, comp_pairs, gt_pairs, posenet, segnet, sal_weights=None, resume: bool = False
    ) -> TrainResult:
        comp, gt = _as_pairs(comp_pairs), _as_pairs(gt_pairs)
        if comp.shape != gt.shape:
            raise ValueError(
                f"comp pairs {tuple(comp.shape)} and gt pairs {tuple(gt.shape)} differ"
            )
        sal = (
            None
            if sal_weights is None
            else torch.as_tensor(np.asarray(sal_weights), dtype=torch.float32)
        )
        return self._fit(
            lambda idx: (comp[idx], gt[idx], None if sal is None else sal[idx]),
            len(comp),
            posenet,
            segnet,
            resume,
        )

    def fit_frames(
        self, comp_frames, gt_frames, posenet, segnet, resume: bool = False
    ) -> TrainResult:
        """Streaming variant: frames (N, H, W, 3) in any indexable form (e.g. memmapped .raw).

        Only the batch being trained on is materialised as pairs.
        """
        n = min(len(comp_frames), len(gt_frames)) // C.SEQ_LEN

        def batch(idx):
            def pairs(frames):
                return torch.stack(
                    [torch.from_numpy(np.array(frames[2 * i : 2 * i + 2])) for i in idx.tolist()]
                )

            return pairs(comp_frames), pairs(gt_frames), None

        return self._fit(batch, n, posenet, segnet, resume)

    # --- the loop ----------------------------------------------------------------------------

    def _fit(self, get_batch, n: int, posenet, segnet, resume: bool) -> TrainResult:
        cfg = self.config
        start = time.perf_counter()
        torch.manual_seed(cfg.seed)
        for net in (posenet, segnet):
            net.eval().requires_grad_(False).to(self.device)
        if cfg.qat:
            enable_qat(self.model, bits=cfg.bits, lsq=cfg.lsq and cfg.bits == 8)
        self.model.train()
        opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        steps_per_epoch = math.ceil(n / cfg.batch_size)
        total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else cfg.max_steps
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=max(total, 2), pct_start=0.1
        )
        ema = ParameterAverage(self.model, cfg.ema_decay) if cfg.ema_decay > 0 else None
        swa = ParameterAverage(self.model, None)
        swa_from = int(cfg.swa_start * total)
        eval_at = {max(1, round(total * (k + 1) / cfg.evals)) for k in range(cfg.evals)}

        targets: dict[int, ScorerView] = {}

        def target(idx: torch.Tensor, gt: torch.Tensor) -> ScorerView:
            """What the scorers see in the originals of these samples, computed once each."""
            ids = idx.tolist()
            missing = [k for k, i in enumerate(ids) if i not in targets]
            if missing:
                with torch.no_grad():
                    pairs = gt[missing].to(self.device).permute(0, 1, 4, 2, 3).float()
                    view = scorer_view(posenet, segnet, pairs)
                for row, k in enumerate(missing):
                    targets[ids[k]] = view.rows(row, row + 1)
            return ScorerView.cat([targets[i] for i in ids])

        def exact(model: nn.Module | None) -> float:
            """100·seg + √(10·pose) over every sample, hard argmax, uint8 frames."""
            poses, segs = [], []
            for idx in torch.arange(n).split(cfg.batch_size):
                comp, gt, _ = get_batch(idx)
                with torch.no_grad():
                    x = comp.to(self.device).permute(0, 1, 4, 2, 3).float()
                    if model is not None:
                        x = filter_pairs(model, comp.to(self.device))
                    p, s = exact_distortion(scorer_view(posenet, segnet, x), target(idx, gt))
                poses.append(p * len(idx))
                segs.append(s * len(idx))
            return C.SEG_WEIGHT * sum(segs) / n + math.sqrt(C.POSE_WEIGHT * sum(poses) / n)

        step, history = 0, []
        best = {"metric": math.inf, "source": "none", "step": 0}
        if resume:
            step, best = self._load_state(opt, sched, ema, swa)
        before = exact(None)
        self._log(
            {"event": "start", "before": before, "steps": total, "samples": n, "resumed_at": step}
        )
        rng = np.random.default_rng(cfg.seed + step)
        order: Iterator[torch.Tensor] = iter(())
        progress = _progress(cfg.progress, total, step)
        stopped = "steps"
        try:
            while step < total:
                if cfg.max_wall_s is not None and time.perf_counter() - start > cfg.max_wall_s:
                    stopped = "wall clock"
                    break
                idx = next(order, None)
                if idx is None:
                    order = iter(torch.from_numpy(rng.permutation(n)).split(cfg.batch_size))
                    idx = next(order)
                comp, gt, sal = get_batch(idx)
                tgt = target(idx, gt)
                out = filter_pairs(self.model, comp.to(self.device))
                view = scorer_view(posenet, segnet, out)
                loss = scorer_loss(view, tgt, cfg.loss)
                if cfg.feature_weight:
                    loss = loss + cfg.feature_weight * feature_matching(view, tgt)
                if cfg.recon_weight:
                    gt_f = gt.to(self.device).permute(0, 1, 4, 2, 3).float()
                    s = None if sal is None else sal.to(self.device)
                    loss = loss + cfg.recon_weight * saliency_reconstruction(
                        out, gt_f, s, cfg.alpha
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                if ema is not None:
                    ema.update(self.model)
                if step > swa_from:
                    swa.update(self.model)
                self._log(
                    {
                        "event": "step",
                        "step": step,
                        "loss": loss.item(),
                        "lr": sched.get_last_lr()[0],
                    }
                )
                progress(step, loss.item())
                if step in eval_at:
                    best = self._evaluate(exact, ema, swa, step, best, history)
                    self._save_state(opt, sched, ema, swa, step, best)
        except KeyboardInterrupt:  # Ctrl-C (or SIGTERM): keep what was learnt, then stop
            progress(None, None)
            self._save_state(opt, sched, ema, swa, step, best)
            self._log({"event": "interrupted", "step": step})
            raise
        progress(None, None)
        if not history or history[-1]["step"] != step:
            best = self._evaluate(exact, ema, swa, step, best, history)
        wall = time.perf_counter() - start
        self._log(
            {"event": "end", "stopped_by": stopped, "best": best, "before": before, "wall_s": wall}
        )
        return TrainResult(
            before,
            best["metric"],
            best["source"],
            best["step"],
            step,
            wall,
            self.checkpoint_path,
            history,
        )

    # --- evaluation, checkpoints, state ---------------------------------------------------------

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / f"{self.config.tag}.safetensors"

    def _evaluate(self, exact, ema, swa, step: int, best: dict, history: list) -> dict:
        cfg = self.config
        # The quantized EMA is the candidate; SWA joins once it averages; the live weights only
        # when there is no EMA. (Each exact evaluation costs a full pass over the samples.)
        candidates = {"ema": ema.model} if ema is not None and ema.count else {"raw": self.model}
        if swa.count:
            candidates["swa"] = swa.model
        scores = {}
        for name, model in candidates.items():
            deployed = deployed_copy(model, cfg.bits)
            scores[name] = exact(deployed)
            if scores[name] < best["metric"]:
                best = {"metric": scores[name], "source": name, "step": step}
                save_checkpoint(
                    self.checkpoint_path,
                    deployed,
                    self._arch_config(),
                    cfg,
                    {"exact": scores[name], "step": step, "source": name},
                )
        history.append({"step": step, **scores})
        self._log({"event": "eval", "step": step, **scores, "best": best["metric"]})
        return best

    def _arch_config(self) -> dict:
        config = getattr(self.model, "config", None)
        return (
            config()
            if callable(config)
            else {"name": self.config.arch, "hidden": self.config.hidden}
        )

    def _state_paths(self) -> tuple[Path, Path]:
        return (
            self.out_dir / f"{self.config.tag}.state.safetensors",
            self.out_dir / f"{self.config.tag}.state.json",
        )

    def _save_state(self, opt, sched, ema, swa, step: int, best: dict) -> None:
        tensors: dict[str, torch.Tensor] = {}
        for prefix, sd in (("model.", self.model.state_dict()), ("swa.", swa.state_dict())):
            tensors.update({prefix + k: v.detach().contiguous().cpu() for k, v in sd.items()})
        if ema is not None:
            tensors.update(
                {"ema." + k: v.detach().contiguous().cpu() for k, v in ema.state_dict().items()}
            )
        opt_state = opt.state_dict()
        for pid, st in opt_state["state"].items():
            for k, v in st.items():
                tensors[f"opt.{pid}.{k}"] = torch.as_tensor(v).detach().contiguous().cpu()
        meta = {
            "v": 1, "step": step, "best": best, "param_groups": opt_state["param_groups"],
            # Only the position: a resumed run may have a new step budget (and so a new schedule).
            "sched": {k: sched.state_dict()[k] for k in ("last_epoch", "_step_count")},
            "ema_count": ema.count if ema else 0, "swa_count": swa.count, "config": self.config.model_dump(),
        }  # fmt: skip
        st_path, json_path = self._state_paths()
        atomic.write_bytes(st_path, save(tensors))
        atomic.write_json(json_path, meta)

    def _load_state(self, opt, sched, ema, swa) -> tuple[int, dict]:
        st_path, json_path = self._state_paths()
        if not (st_path.is_file() and json_path.is_file()):
            return 0, {"metric": math.inf, "source": "none", "step": 0}
        meta = json.loads(json_path.read_text())
        tensors = load_file(str(st_path))

        def section(prefix: str) -> dict[str, torch.Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        self.model.load_state_dict(section("model."))
        swa.load_state_dict(section("swa."), meta["swa_count"])
        if ema is not None:
            ema.load_state_dict(section("ema."), meta["ema_count"])
        state: dict[int, dict] = {}
        for k, v in section("opt.").items():
            pid, name = k.split(".", 1)
            state.setdefault(int(pid), {})[name] = v
        opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        sched.load_state_dict({**sched.state_dict(), **meta["sched"]})
        return meta["step"], meta["best"]

    def _log(self, record: dict) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.telemetry_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"t": time.time(), "tag": self.config.tag, **record}) + "\n")


def _progress(enabled: bool, total: int, start: int):
    """A rich progress bar on stderr (or nothing); call with (step, loss), then (None, None)."""
    if not enabled:
        return lambda step, loss: None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
    )  # fmt: skip
    task = bar.add_task("train", total=total, completed=start, loss="-")
    bar.start()

    def update(step, loss):
        if step is None:
            bar.stop()
        else:
            bar.update(task, completed=step, loss=f"{loss:.4f}")

    return update
