# The course's two commands (see README):
#   make series   executes every notebook headless on your data, in the default profile, and saves
#                 the executed copies in build/executed/ (the committed notebooks are left alone)
#   make test     runs the test suite (unit tests + every notebook under nbval, smoke profile) in a
#                 temporary CATSDOGS_HOME: your data/, models/, logs/ and submission.csv are untouched
# Maintainers only (they rewrite tracked files on purpose):
#   make refresh-notebooks    executes the series and writes the outputs into notebooks/*.ipynb
#   make refresh-screenshots  runs the notebook 07 browser test and writes docs/images/07_*.png
#   make refresh-timings      runs the series in PROFILE (e.g. smoke) without saving it and records each
#                             notebook's time in notebooks/timings.json, its header and the README table
# Both create the virtual environment .venv (Python 3.11) and install the pinned packages first.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= default

.PHONY: series test test-fast env clean-outputs refresh-notebooks refresh-screenshots refresh-timings

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

# The unit tests that train nothing and start no server: minutes, while changing utils/.
test-fast: $(STAMP)
	$(PY) -m pytest tests -m "not slow and not browser" $(PYTEST_ARGS)

refresh-notebooks: $(STAMP)
	CATSDOGS_PROFILE=$(PROFILE) $(PY) scripts/run_series.py --profile $(PROFILE) --in-place

refresh-timings: $(STAMP)
	CATSDOGS_PROFILE=$(PROFILE) $(PY) scripts/run_series.py --profile $(PROFILE) --no-save --record-timings

refresh-screenshots: $(STAMP)
	CATSDOGS_SCREENSHOTS=$(CURDIR)/docs/images $(PY) -m pytest tests/test_browser_tensorboard.py

clean-outputs:
	rm -rf build/executed data/extracted data/manifest-*.csv data/dataset-*.json data/image-checks.csv models logs/*/

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
