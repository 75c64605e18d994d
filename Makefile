# The course's two commands (see README):
#   make series   executes every notebook headless on your data, in the default profile
#   make test     runs the test suite (unit tests + every notebook under nbval, smoke profile)
# Both create the virtual environment .venv (Python 3.11) and install the pinned packages first.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default

.PHONY: series test env clean-outputs

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

series: $(STAMP)
	CATSDOGS_PROFILE=$(PROFILE) $(PY) scripts/run_series.py --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

clean-outputs:
	rm -rf data/extracted data/manifest-*.csv data/dataset-*.json data/image-checks.csv models logs/*/

# Instructor edition (issue #17; see TEACHING.md):
#   make student                   build/student/: notebooks without solutions, figures kept, other outputs cleared, and a zip
#   make slides                    build/slides/: reveal.js decks of notebooks 02 and 03, with reveal.js beside them (via npm)
#   make refresh-slide-screenshot  (maintainers) re-take docs/images/slides_02_convolution.png for the README
.PHONY: student slides refresh-slide-screenshot

student: $(STAMP)
	$(PY) scripts/build_student.py --out build/student

slides: $(STAMP)
	$(PY) scripts/build_slides.py --out build/slides

refresh-slide-screenshot: slides
	$(PY) scripts/slide_screenshot.py build/slides/02_convolution_and_pooling.slides.html docs/images/slides_02_convolution.png
