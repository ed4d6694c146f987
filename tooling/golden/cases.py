"""The inputs the goldens are computed for (shared by the seed search and the golden step)."""

# (case name, prompt as the user types it, image name from images.py)
SINGLE = [
    ("caption", "caption en", "big-160x120"),
    ("answer", "answer en what is this?", "photo-96x72"),
    ("detect", "detect cat ; dog", "rgba-29x31"),
]
# one batch, two rows of different prompt lengths, LEFT padded
BATCH = [
    ("caption en", "rgb-37x23"),
    ("answer en how many birds are sitting on the table ?", "grey-40x33"),
]
IMAGE_FEATURES = ["big-160x120", "grey-40x33", "one-1x1"]
NEW_TOKENS = 24
STEP_LOGITS_CASE = "caption"  # the single case whose per-step full logits are stored
MIN_GAP = 0.02                # seed search: every greedy step's top1-top2 of the SOFT-CAPPED logits
                              # (30*tanh(x/30); smaller than the raw gap) must exceed this
MIN_DISTINCT = 6              # ... and every generated row must hold at least this many distinct ids
MAX_SEEDS = 500
