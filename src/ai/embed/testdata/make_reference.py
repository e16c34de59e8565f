"""Regenerates reference.json: sentence-transformers' own vectors for a few texts.

Not run by the tests or CI (it needs torch); run it by hand after changing the model:

    python3 -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers
    HF_HUB_OFFLINE=1 /tmp/st/bin/python make_reference.py /path/to/all-MiniLM-L6-v2 > reference.json
"""

import json
import sys

import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

TEXTS = [
    "How long does a refund take?",
    "When will I get my money back?",
    "Do you ship to Canada?",
    "",
    # Over 256 word pieces: checks that both sides truncate at the same place.
    "My parcel was returned to the warehouse and I would like a refund please. " * 20,
]

model = SentenceTransformer(sys.argv[1], device="cpu")
vectors = model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
# One text per line keeps the file short and its diffs readable.
entries = [
    json.dumps({"text": text, "vector": [round(float(x), 7) for x in vector]})
    for text, vector in zip(TEXTS, vectors)
]
generator = (
    f"sentence-transformers {sentence_transformers.__version__}, "
    f"torch {torch.__version__}, max_seq_length {model.max_seq_length}"
)
print("{")
print(f' "generator": {json.dumps(generator)},')
print(' "texts": [')
print(",\n".join("  " + entry for entry in entries))
print(" ]")
print("}")
