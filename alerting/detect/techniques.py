"""The built-in techniques; importing this module registers them."""

from alerting.detect import cdf_squared, quantile_steps  # noqa: F401
