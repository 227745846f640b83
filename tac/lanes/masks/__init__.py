"""The masks + renderer lane (issue 16), being built: what exists so far is its payload's first
half — the masks, their codecs and the pose side channel — measured side by side
(`benchmarks/bench_masks.py`). The renderer, its training and the lane's registration come next;
until then nothing here is a `Lane`, and the loop does not search it.

    masks.py    the SegNet classes of every pair's second frame, and the PoseNet targets (cached
                with the exact evaluation's ground truth)
    codecs.py   mask codecs behind one interface (`MASK_CODECS`): context (lossless, learned
                on the fly), lzma and brotli (the floor), av1 and hevc grey videos (lossy, crf)
    context.py  the lossless adaptive context-model coder (numpy + constriction)
    pose.py     the pose side channel: quantized, delta-coded, entropy-coded targets
"""
