# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench clean

# torch/torchvision first and pinned: pip takes these builds from the machine's local wheels.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(STAMP)
	mkdir -p out
	$(BIN)/vidstyle render samples/sample.mp4 --style picasso -o out/sample-picasso.mp4 --overwrite
	$(BIN)/vidstyle render samples/sample.mp4 --cues samples/example.cue -o out/sample-cues.mp4 --overwrite
	@echo "demo: out/sample-picasso.mp4 and out/sample-cues.mp4"

test: $(STAMP)
	$(BIN)/pytest -q

test-all: $(STAMP)
	$(BIN)/pytest -q -m ""

lint: $(STAMP)
	$(BIN)/ruff check vidstyle tests benchmarks samples scripts

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean:
	rm -rf $(VENV) out
