"""Kaggle submission files: ids, a temperature, clipping, writing and checking ``id,label`` CSVs (notebook 08).

Kaggle's Dogs vs. Cats (Redux) wants one row per test image, ``id,label``, where ``id`` is the
number in the image's file name (``123.jpg`` -> 123) and ``label`` is P(dog). The score is the
log loss, so a confident wrong answer costs a lot: a temperature softens every over-sure answer,
and clipping the probabilities into ``[bound, 1 - bound]`` caps the cost of the worst (notebook 08
picks both on the validation split).

:func:`write_submission` checks the file against ``sample_submission.csv`` (same header, same
ids) before it is put in place and never overwrites an existing file unless asked to.
"""
from utils.submission.clipping import (DEFAULT_BOUNDS, best_clip_bound, clip_probabilities, clipping_curve,
                                       held_out_clip_bound, validation_halves)
from utils.submission.temperature import (DEFAULT_TEMPERATURES, best_temperature, check_temperature,
                                          held_out_temperature, logit, soften, temperature_curve)
from utils.submission.ids import (HEADER, MAX_ID_DIGITS, SubmissionError, SubmissionExistsError, numeric_order,
                                  parse_id, read_sample_ids)
from utils.submission.writing import (build_submission, find_sample_submission, keep_previous, validate_submission,
                                      write_submission)

__all__ = ["DEFAULT_BOUNDS", "DEFAULT_TEMPERATURES", "HEADER", "MAX_ID_DIGITS", "SubmissionError", "SubmissionExistsError",
           "best_clip_bound", "best_temperature", "build_submission", "check_temperature", "clip_probabilities", "clipping_curve", "find_sample_submission",
           "held_out_clip_bound", "held_out_temperature", "keep_previous", "logit", "numeric_order", "parse_id", "read_sample_ids",
           "soften", "temperature_curve", "validate_submission", "validation_halves", "write_submission"]
