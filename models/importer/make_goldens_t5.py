"""Random tiny T5 encoders in Hugging Face's layout, and what transformers' own T5EncoderModel computes from them.

  /usr/bin/python3 models/importer/make_goldens_t5.py   (needs transformers under models/importer/.upstream, see
                                                          upstream_shims_t5.py; run make_tokenizer_t5.py first)

Writes, for t5.test.ts:
  fixtures/t5-tiny/{config.json, model.safetensors}       feed_forward_proj "relu" (t5-base's), d_model 64, 2 layers,
                                                           4 heads; safetensors holds `shared.weight` only (the tied
                                                           `encoder.embed_tokens.weight` left out, as save_pretrained does)
  fixtures/t5-tiny-gated/{config.json, pytorch_model.bin, tokenizer.json}
                                                           feed_forward_proj "gated-gelu" (T5 v1.1); the .bin carries
                                                           both embedding names plus decoder/lm_head tensors an encoder drops
  golden/t5-tiny-inputs.json                               the input_ids / attention_mask of each case
  golden/t5-tiny-<case>.npy                                upstream last_hidden_state × attention_mask (float32), the
                                                           value stable-audio-tools' T5Conditioner passes on
Weights come from HF's own initialisation (seeded), with the layer-norm scales drawn around 1 so they matter.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch

from chorus_import.checkpoint import write_safetensors
from upstream_shims_t5 import upstream_t5

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"

TINY = {
    "architectures": ["T5ForConditionalGeneration"],
    "model_type": "t5",
    "vocab_size": 208,  # 204 tokenizer entries, rounded up as t5-base's 32128 rounds its 32100
    "d_model": 64,
    "d_kv": 16,
    "d_ff": 128,
    "num_layers": 2,
    "num_decoder_layers": 2,
    "num_heads": 4,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6,
    "initializer_factor": 1.0,
    "feed_forward_proj": "relu",
    "is_encoder_decoder": True,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
}


def upstream_encoder(config: dict, seed: int):
    t5 = upstream_t5()
    torch.manual_seed(seed)
    model = t5.T5EncoderModel(t5.T5Config(**config)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                param.uniform_(0.5, 1.5)
    return model


def features(model, ids: torch.Tensor, mask: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    return (hidden * mask.unsqueeze(-1).float()).numpy().astype(np.float32)


def main() -> None:
    tokens = json.loads((GOLDEN / "t5-tiny-tokens.json").read_text())
    chosen = [tokens["cases"][i] for i in (0, 1, 8, 9)]  # short, truncated, empty (</s> only), truncated
    generator = torch.Generator().manual_seed(7)
    long_ids = torch.randint(3, TINY["vocab_size"], (2, 160), generator=generator)
    long_mask = torch.zeros(2, 160, dtype=torch.int64)
    long_mask[0, :160] = 1
    long_mask[1, :137] = 1
    long_ids = long_ids * long_mask  # padding is <pad> = 0, as the tokenizer writes it
    cases = {
        "tokens16": (
            torch.tensor([c["encodings"]["16"]["input_ids"] for c in chosen]),
            torch.tensor([c["encodings"]["16"]["attention_mask"] for c in chosen]),
        ),
        "random160": (long_ids, long_mask),  # longer than max_distance 128: the last log bucket is clamped
    }

    tiny = FIXTURES / "t5-tiny"
    relu = upstream_encoder(TINY, seed=0)
    state = relu.state_dict()
    (tiny / "config.json").write_text(json.dumps(TINY, indent=2) + "\n")
    write_safetensors({k: v for k, v in state.items() if k != "encoder.embed_tokens.weight"}, str(tiny / "model.safetensors"))

    gated_config = {**TINY, "feed_forward_proj": "gated-gelu", "d_ff": 96}
    gated_dir = FIXTURES / "t5-tiny-gated"
    gated_dir.mkdir(parents=True, exist_ok=True)
    gated = upstream_encoder(gated_config, seed=1)
    gated_state = dict(gated.state_dict())
    gated_state["decoder.final_layer_norm.weight"] = torch.ones(gated_config["d_model"])
    gated_state["lm_head.weight"] = gated_state["shared.weight"].clone()
    (gated_dir / "config.json").write_text(json.dumps(gated_config, indent=2) + "\n")
    torch.save(gated_state, gated_dir / "pytorch_model.bin")
    shutil.copyfile(tiny / "tokenizer.json", gated_dir / "tokenizer.json")

    inputs = {}
    for name, (ids, mask) in cases.items():
        inputs[name] = {"input_ids": ids.tolist(), "attention_mask": mask.tolist()}
        np.save(GOLDEN / f"t5-tiny-{name}.npy", features(relu, ids, mask))
    ids, mask = cases["tokens16"]
    np.save(GOLDEN / "t5-tiny-gated-tokens16.npy", features(gated, ids, mask))
    (GOLDEN / "t5-tiny-inputs.json").write_text(json.dumps(inputs) + "\n")
    print(f"wrote {tiny}, {gated_dir} and goldens in {GOLDEN}")


if __name__ == "__main__":
    main()
