"""What-if: orders replayed in memory against rule sets, with stores that reject by a model."""
