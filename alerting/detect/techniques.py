"""The built-in techniques; the registry registers them on first use."""

from alerting.detect import cdf_squared, quantile_steps

BUILTIN = (cdf_squared.TECHNIQUE, quantile_steps.TECHNIQUE)
