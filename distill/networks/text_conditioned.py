"""The teacher as it trains: the UNet and the text encoder it is conditioned on, as one module, with an
optional relation read-out of the text states and its targets."""
from __future__ import annotations

import torch

from ..domain.grammar import OPPOSITE_RELATION, RELATIONS


RELATION_CLASSES = RELATIONS  # the relation head's classes, in the grammar's order

RELATION_WORDS = {"left": 0, "right": 1, "above": 2, "below": 3}  # the one word that tells the relations apart

_OPPOSITE_CLASS = tuple(RELATION_CLASSES.index(OPPOSITE_RELATION[r]) for r in RELATION_CLASSES)


def relation_targets(tokenizer, input_ids: torch.Tensor) -> torch.Tensor:
    """[B, L] token ids -> [B, L] relation class per token state (-100: no target). In a prompt with a relation,
    each state between the relation word and the end of text gets the side its (second) object lies on relative
    to the first, and every end-of-text state from the first one on gets the relation of the first to the second."""
    word_class = {tokenizer.convert_tokens_to_ids(w): c for w, c in RELATION_WORDS.items()}
    eos = tokenizer.eos_token_id
    targets = torch.full_like(input_ids, -100)
    for b, row in enumerate(input_ids.tolist()):
        where = [(i, word_class[tok]) for i, tok in enumerate(row) if tok in word_class]
        if not where:
            continue
        if len(where) > 1:
            raise ValueError(f"prompt {b} names {len(where)} relations; the grammar allows one")
        pos, cls = where[0]
        end = row.index(eos, pos)
        targets[b, pos + 1:end] = _OPPOSITE_CLASS[cls]
        targets[b, end:] = cls
    return targets


class TextConditionedUNet(torch.nn.Module):
    """The UNet and the text encoder it is conditioned on, trained (and averaged) as one module; with
    relation_head, a linear read-out of the relation from the text states (training only, never exported)."""

    def __init__(self, unet, text_encoder, relation_head: bool = False):
        super().__init__()
        self.unet, self.text_encoder = unet, text_encoder
        width = text_encoder.config.hidden_size
        self.relation_head = torch.nn.Linear(width, len(RELATION_CLASSES)) if relation_head else None

    def forward(self, x_t, t, input_ids):  # [B, 4, h, w], [B], [B, 77] -> ε̂ [B, 4, h, w], relation logits or None
        states = self.text_encoder(input_ids)[0]  # [B, 77, D]
        logits = self.relation_head(states) if self.relation_head is not None else None  # [B, 77, 4]
        return self.unet(x_t, t, states).sample, logits


def split_teacher_state(state: dict) -> tuple[dict, dict]:
    """A TextConditionedUNet state dict -> (UNet state, text encoder state)."""
    unet = {k[len("unet."):]: v for k, v in state.items() if k.startswith("unet.")}
    text = {k[len("text_encoder."):]: v for k, v in state.items() if k.startswith("text_encoder.")}
    return unet, text
