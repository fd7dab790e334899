"""Energy per request and per generated token, prefill and decode apart: a tiny GPT-2
built in this file (no hub download) served in a loop with `meter.generate`, and a
hand-written decode loop marked with `mark_prefill()` / `mark_decode()`.

    pip install 'wattprint[hf]'
    python examples/inference_loop.py           # about 10 s on a laptop CPU
    python examples/inference_loop.py --quick   # a few seconds (used by the tests)
"""

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel  # noqa: E402

from wattprint.integrations.inference import measure_inference  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tiny run, for tests")
    args = parser.parse_args()
    requests, new_tokens = (4, 16) if args.quick else (32, 64)

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=4, n_embd=128, vocab_size=1000, n_positions=256,
                        bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config).eval()

    # 1. Transformers generate: requests, generated tokens, prefill/decode split for you
    with measure_inference("generate-loop", ledger=True, project="examples") as meter:
        for _ in range(requests):
            prompt = torch.randint(1, 1000, (1, 48))
            meter.generate(model, input_ids=prompt,
                           attention_mask=torch.ones_like(prompt),
                           max_new_tokens=new_tokens, do_sample=True, pad_token_id=0)
    r = meter.result
    print(r.summary())
    decode_j_per_token = r.phase("decode").per_unit["j_per_token"]
    print(f"per request {r.per_unit['j_per_request']:.3g} J, per generated token "
          f"{r.per_unit['j_per_token']:.3g} J (decode alone {decode_j_per_token:.3g} J)")

    # 2. Your own decode loop: mark the phases and count the tokens yourself
    with measure_inference("manual-loop", ledger=True, project="examples") as meter, \
            torch.no_grad():
        for _ in range(requests):
            ids = torch.randint(1, 1000, (1, 48))
            with meter.request(prompt_tokens=ids.shape[1]):
                meter.mark_prefill()
                out = model(ids, use_cache=True)
                past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
                meter.mark_decode()
                for _ in range(new_tokens):
                    out = model(token, past_key_values=past, use_cache=True)
                    past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
                    meter.count(tokens=1)
    print(meter.result.summary())


if __name__ == "__main__":
    main()
