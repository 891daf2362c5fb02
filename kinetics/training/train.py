"""``train(TrainConfig)``: the I3D training loop, on CPU, one GPU, or many with ``torchrun``.

Each step: wait for a batch (timed: ``data_wait``), forward under autocast on CUDA, cross-entropy,
backward through the GradScaler, SGD step, schedule step (timed: ``compute``; on CUDA the step is
synchronised so that the two times are what the GPU did). ``data_wait_fraction`` = wait / (wait +
compute) is logged with every metrics line and in the summary: near 0 means the GPU is the
bottleneck; near 1 means the loader is.

Checkpoints (``OUT/last.pt``, :mod:`kinetics.training.checkpointing`) are written by rank 0 every
``checkpoint_every_steps``, at the end of each epoch and at the end; ``--resume`` continues from
the last one exactly (same batches, same augmentation, same dropout masks): on CPU, resuming after
``k`` steps and training to ``N`` gives the same weights as training to ``N`` directly. The final
weights also go to ``OUT/model.pt`` (a plain state dict, loadable by ``I3D.from_pretrained``).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from kinetics.errors import CorpusError, KineticsError
from kinetics.training import distributed
from kinetics.training.checkpointing import (
    LAST, Position, load_training_state, position_of, restore_rng, save_atomic, save_training_state, unwrap,
)
from kinetics.training.config import ConfigError, TrainConfig
from kinetics.training.inference import loss_and_accuracy, run_streams
from kinetics.training.initialise import build_model
from kinetics.training.inputs import (
    ResumableSampler, class_count, epoch_batches, make_loader, train_dataset, val_dataset,
)
from kinetics.training.logbook import Logbook
from kinetics.training.schedule import LearningRate

MODEL_FILE = "model.pt"
#: fields that may differ between a run and its resumption (they do not change the arithmetic)
RESUMABLE_CHANGES = frozenset({"epochs", "max_steps", "resume", "workers", "log_every_steps", "checkpoint_every_steps",
                               "tensorboard", "val_max_clips", "device", "out", "cache_dir", "base_url", "on_error"})


class TrainingError(KineticsError):
    """Training cannot go on (a non-finite loss, a label outside the classifier)."""


@dataclass(frozen=True)
class TrainSummary:
    """What a run did; ``format()`` is the final summary the CLI prints."""

    out: Path
    steps: int
    epoch: int
    train_clips: int  # in the training set
    clips_seen: int  # this session
    final_loss: float | None
    val_loss: float | None
    val_top1: float | None
    clips_per_second: float
    data_wait_fraction: float
    elapsed_seconds: float
    resumed_from_step: int | None
    checkpoint: Path
    model: Path
    metrics: Path

    def as_dict(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}

    def format(self) -> str:
        resumed = f" (resumed at step {self.resumed_from_step})" if self.resumed_from_step is not None else ""
        val = "" if self.val_loss is None else f"; val loss {self.val_loss:.4f}, val top-1 {100 * self.val_top1:.1f}%"
        loss = "n/a" if self.final_loss is None else f"{self.final_loss:.4f}"
        return "\n".join([
            f"trained {self.steps} steps{resumed}, {self.clips_seen} clips this session, in {self.elapsed_seconds:.1f} s",
            f"final train loss {loss}{val}",
            f"{self.clips_per_second:.2f} clips/s; data wait {100 * self.data_wait_fraction:.1f}% of step time",
            f"weights: {self.model}  checkpoint: {self.checkpoint}  metrics: {self.metrics}",
        ])


@dataclass
class _Window:
    """Sums over the steps since the last metrics line (and, separately, over the whole session)."""

    steps: int = 0
    clips: int = 0
    loss_sum: float = 0.0
    wait_seconds: float = 0.0
    compute_seconds: float = 0.0

    def add(self, *, clips: int, loss: float, wait: float, compute: float) -> None:
        self.steps += 1
        self.clips += clips
        self.loss_sum += loss * clips
        self.wait_seconds += wait
        self.compute_seconds += compute


def train(config: TrainConfig, *, progress: bool | None = None) -> TrainSummary:
    """Train as ``config`` says; under ``torchrun`` every process calls this and rank 0 reports."""
    runtime = distributed.start(device=config.device, precision=config.precision)
    try:
        return _Run(config, runtime, progress).run()
    finally:
        distributed.stop(runtime)


class _Run:
    def __init__(self, config: TrainConfig, runtime: distributed.Runtime, progress: bool | None):
        self.config, self.runtime = config, runtime
        _seed_everything(config.seed)
        self.dataset = train_dataset(config)
        if len(self.dataset) == 0:
            raise CorpusError(f"{config.root}: no loadable clips to train on ({config.dataset}, "
                              f"{config.split if config.dataset == 'kinetics' else f'fold {config.fold}'})")
        self.num_classes = class_count(config, self.dataset)
        _check_labels(self.dataset, self.num_classes)
        names = self.dataset.classes if self.dataset.classes and len(self.dataset.classes) == self.num_classes else None
        model = build_model(stream=config.stream, init=config.init, num_classes=self.num_classes,
                            init_weights=config.init_weights, dropout=config.dropout,
                            temporal_padding=config.temporal_padding, cache_dir=config.cache_dir, base_url=config.base_url,
                            class_names=names)
        if config.bn_momentum is not None:
            for module in model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.momentum = config.bn_momentum
        self.model = model.to(runtime.device)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.schedule = LearningRate(self.optimizer, kind=config.lr_schedule, drop_factor=config.lr_drop_factor,
                                     milestones=config.lr_milestones, patience=config.plateau_patience)
        self.scaler = torch.amp.GradScaler(runtime.device.type, enabled=runtime.amp)
        self.position, self.best_val_loss, self.resumed_from = Position(), None, None
        self.last_path = config.out / LAST
        rng = self._resume()
        if runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [runtime.device.index] if runtime.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.model, device_ids=ids)
        self.sampler = ResumableSampler(self.dataset, num_replicas=runtime.world_size, rank=runtime.rank,
                                        shuffle=True, seed=config.seed)
        self.steps_per_epoch, drop_last = epoch_batches(len(self.dataset), batch_size=config.batch_size,
                                                        world_size=runtime.world_size)
        self.loader = make_loader(self.dataset, batch_size=config.batch_size, workers=config.workers,
                                  sampler=self.sampler, pin_memory=runtime.device.type == "cuda", drop_last=drop_last)
        self.val = val_dataset(config)
        self.total_steps = config.epochs * self.steps_per_epoch
        if config.max_steps is not None:
            self.total_steps = min(self.total_steps, config.max_steps)
        self.logbook = Logbook(config.out, tensorboard=config.tensorboard, progress=progress,
                               total_steps=self.total_steps, initial_step=self.position.step) \
            if runtime.is_main else Logbook.disabled()
        if rng is not None:
            restore_rng(rng)  # last: everything above may have drawn random numbers

    # -- set-up ----------------------------------------------------------------------------------
    def _resume(self) -> dict | None:
        """Load ``OUT/last.pt`` when resuming; refuse to overwrite a run that was not asked to resume."""
        if not self.last_path.is_file():
            return None
        if not self.config.resume:
            raise ConfigError(f"{self.last_path} exists: pass --resume to continue that run, or choose another --out")
        payload = load_training_state(self.last_path)
        changed = _changed_settings(payload.get("config", {}), self.config.to_dict())
        if changed:
            raise ConfigError(f"{self.last_path} was written with other settings ({', '.join(changed)}): "
                              f"resume with the same ones, or choose another --out")
        unwrap(self.model).load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.schedule.load_state_dict(payload["schedule"])
        self.scaler.load_state_dict(payload["scaler"])
        self.position = position_of(payload)
        self.best_val_loss = payload.get("best_val_loss")
        self.resumed_from = self.position.step
        return payload["rng"]

    # -- the loop --------------------------------------------------------------------------------
    def run(self) -> TrainSummary:
        config, runtime = self.config, self.runtime
        started = time.perf_counter()
        self.session, self.window, self.window_started = _Window(), _Window(), time.perf_counter()
        last_loss = val_loss = val_top1 = None
        self.logbook.write("start", self.position.step, {
            "config": config.to_dict(), "world_size": runtime.world_size, "device": str(runtime.device),
            "amp": runtime.amp, "clips": len(self.dataset), "classes": self.num_classes,
            "steps_per_epoch": self.steps_per_epoch, "total_steps": self.total_steps, "resumed_from": self.resumed_from,
        })
        with self.logbook:
            while self.position.step < self.total_steps:
                epoch_losses = self._epoch()
                last_loss = epoch_losses[-1] if epoch_losses else last_loss
                if self.position.batches_in_epoch >= self.steps_per_epoch:  # the epoch is complete
                    val_loss, val_top1 = self._end_epoch(epoch_losses)
            self._save()
            if runtime.is_main:
                save_atomic(unwrap(self.model).state_dict(), config.out / MODEL_FILE)
            session = self.session
            busy = session.wait_seconds + session.compute_seconds
            clips = session.clips * runtime.world_size
            summary = TrainSummary(
                out=config.out, steps=self.position.step, epoch=self.position.epoch, train_clips=len(self.dataset),
                clips_seen=clips,
                final_loss=last_loss, val_loss=val_loss, val_top1=val_top1,
                clips_per_second=clips / busy if busy else 0.0,
                data_wait_fraction=session.wait_seconds / busy if busy else 0.0,
                elapsed_seconds=time.perf_counter() - started, resumed_from_step=self.resumed_from,
                checkpoint=self.last_path, model=config.out / MODEL_FILE, metrics=config.out / "metrics.jsonl",
            )
            self.logbook.write("summary", self.position.step, summary.as_dict())
        return summary

    def _epoch(self) -> list[float]:
        """Train the rest of the current epoch (or until ``total_steps``); returns its step losses."""
        config, runtime = self.config, self.runtime
        epoch, done = self.position.epoch, self.position.batches_in_epoch
        self.sampler.set_epoch(epoch, skip=done * config.batch_size)
        self.dataset.set_epoch(epoch)
        self.model.train()
        losses: list[float] = []
        batches = iter(self.loader)
        while done < self.steps_per_epoch and self.position.step < self.total_steps:
            waited = time.perf_counter()
            batch = next(batches, None)
            if batch is None:
                break
            computing = time.perf_counter()
            loss = self._step(batch)
            runtime.synchronize()
            finished = time.perf_counter()
            done += 1
            self.position = Position(self.position.step + 1, epoch, done)
            self.schedule.after_step()
            for meter in (self.session, self.window):
                meter.add(clips=len(batch["clip_id"]), loss=loss, wait=computing - waited, compute=finished - computing)
            losses.append(loss)
            step = self.position.step
            if step % config.log_every_steps == 0 or step == self.total_steps:
                self._log_window()
            if config.checkpoint_every_steps and step % config.checkpoint_every_steps == 0 and step < self.total_steps:
                self._save()
        return losses

    def _step(self, batch: dict) -> float:
        clips = batch[self.config.stream].to(self.runtime.device, non_blocking=True)
        labels = batch["label"].to(self.runtime.device, non_blocking=True)
        with self.runtime.autocast():
            logits = self.model(clips)
        loss = F.cross_entropy(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        value = loss.item()
        if not math.isfinite(value) and not self.runtime.amp:  # with AMP the scaler skips such steps itself
            raise TrainingError(f"loss is {value} at step {self.position.step + 1} (clips {', '.join(batch['clip_id'])}); "
                                f"lower --lr or check those clips")
        return value

    def _log_window(self) -> None:
        window, wall_seconds = self.window, time.perf_counter() - self.window_started
        self.window, self.window_started = _Window(), time.perf_counter()
        steps, clips, loss_sum, wait, compute = self.runtime.all_sum(
            [window.steps, window.clips, window.loss_sum, window.wait_seconds, window.compute_seconds])
        if not steps:
            return
        world = self.runtime.world_size
        rate = clips / wall_seconds if wall_seconds > 0 else 0.0
        values = {
            "epoch": self.position.epoch, "loss": loss_sum / clips, "lr": self.schedule.current,
            "clips_per_second": rate, "data_wait_fraction": wait / (wait + compute) if wait + compute else 0.0,
            "step_seconds": (wait + compute) / steps, "clips": int(clips), "world_size": world,
        }
        self.logbook.write("train", self.position.step, values)
        self.logbook.advance(int(steps / world), loss=values["loss"], clips_per_second=rate)

    def _end_epoch(self, epoch_losses: list[float]) -> tuple[float | None, float | None]:
        """Validate, move a plateau schedule, checkpoint, and start the next epoch."""
        val_loss = val_top1 = None
        if self.val is not None:
            result = self._validate()
            val_loss, val_top1 = result.loss, result.top1
            self.logbook.write("val", self.position.step, {"epoch": self.position.epoch, "loss": val_loss,
                                                           "top1": val_top1, "clips": result.clips})
            self.logbook.note(f"epoch {self.position.epoch}: val loss {val_loss:.4f}, top-1 {100 * val_top1:.1f}%")
            monitored = val_loss
            if self.best_val_loss is None or val_loss < self.best_val_loss:
                self.best_val_loss = val_loss
        else:  # no validation split: the paper's plateau rule on the epoch's training loss
            sums = self.runtime.all_sum([sum(epoch_losses), len(epoch_losses)])
            monitored = sums[0] / sums[1] if sums[1] else float("nan")
        if math.isfinite(monitored):
            self.schedule.after_validation(monitored)
        self.position = Position(self.position.step, self.position.epoch + 1, 0)
        if self.position.step < self.total_steps:
            self._save()
        return val_loss, val_top1

    def _validate(self):
        sampler = torch.utils.data.DistributedSampler(self.val, num_replicas=self.runtime.world_size,
                                                      rank=self.runtime.rank, shuffle=False)
        loader = make_loader(self.val, batch_size=self.config.batch_size, workers=self.config.workers, sampler=sampler,
                             pin_memory=self.runtime.device.type == "cuda")
        outputs = run_streams({self.config.stream: unwrap(self.model)}, loader, device=self.runtime.device,
                              amp=self.runtime.amp)
        local = loss_and_accuracy(outputs.values[self.config.stream], outputs.labels)
        loss_sum, correct, clips = self.runtime.all_sum([local.loss_sum, local.correct, local.clips])
        self.model.train()
        return type(local)(loss_sum, int(correct), int(clips))

    def _save(self) -> None:
        if self.runtime.is_main:
            save_training_state(self.last_path, model=self.model, optimizer=self.optimizer, schedule=self.schedule,
                                scaler=self.scaler, position=self.position, config=self.config.to_dict(),
                                best_val_loss=self.best_val_loss)
            self.logbook.write("checkpoint", self.position.step, {"path": str(self.last_path),
                                                                  "epoch": self.position.epoch})
        self.runtime.barrier()



def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _changed_settings(saved: dict, current: dict) -> list[str]:
    return sorted(k for k in current if k not in RESUMABLE_CHANGES and k in saved and saved[k] != current[k])


def _check_labels(dataset, num_classes: int) -> None:
    """Every label must index the classifier; checked once, from the records, before any clip is decoded."""
    records = dataset.records
    table = getattr(records, "table", None)
    if table is not None and "label_index" in table.column_names:
        import pyarrow.compute as pc

        largest = pc.max(table.column("label_index")).as_py()
        smallest = pc.min(table.column("label_index")).as_py()
    else:
        indices = [r.label_index for r in records]
        largest, smallest = (max(indices), min(indices)) if indices else (None, None)
    if smallest is not None and smallest < 0:
        raise TrainingError("the training split has unlabelled clips (label_index -1); train on a labelled split")
    if largest is not None and largest >= num_classes:
        raise TrainingError(f"a training clip has label_index {largest}, but the model has {num_classes} classes "
                            f"(--classes)")
