"""The model layer: the registry of variants, their cost, and transfer learning (notebooks 03-05, 09)."""
