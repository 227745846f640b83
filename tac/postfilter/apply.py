"""Running a post-filter over decoded frames: the one implementation tac and submissions share.

Copied verbatim into every submission that ships a filter (as `tacrt.postfilter.apply`), so it
imports nothing but torch.
"""

import torch


def filter_frames(model, frames, batch=4):
    """Run a post-filter over uint8 (H, W, 3) tensors in batches; yields uint8 tensors."""
    pending = []
    for frame in frames:
        pending.append(frame)
        if len(pending) == batch:
            yield from _filter_batch(model, pending)
            pending = []
    if pending:
        yield from _filter_batch(model, pending)


def _filter_batch(model, frames):
    x = torch.stack(frames).permute(0, 3, 1, 2).float()
    with torch.inference_mode():
        y = model(x).clamp(0, 255).round().to(torch.uint8)
    return list(y.permute(0, 2, 3, 1))
